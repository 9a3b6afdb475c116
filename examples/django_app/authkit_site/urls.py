"""The example's URLs: authkit's routes under ``/auth/``, and two pages of the site."""

from django.urls import include, path

from authkit_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("account/", views.account, name="account"),
    path("auth/", include("authkit.adapters.django.urls")),
]
