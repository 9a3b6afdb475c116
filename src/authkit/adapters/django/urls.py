"""authkit's routes for a Django URL configuration.

Include them under a prefix of your choice, keeping the ``authkit`` namespace::

    urlpatterns = [path("auth/", include("authkit.adapters.django.urls"))]

``{% url "authkit:login" %}`` and ``{% url "authkit:logout" %}`` name the sign-in and sign-out
pages; ``{% url "authkit:routes" "oauth/login/orcid/" %}`` any other route.
"""

from __future__ import annotations

from django.urls import path, re_path  # type: ignore[import-untyped,unused-ignore]

from authkit.adapters.django._views import routes_view

app_name = "authkit"

urlpatterns = [
    path("login/", routes_view, {"path": "login/"}, name="login"),
    path("logout/", routes_view, {"path": "logout/"}, name="logout"),
    re_path(r"^(?P<path>.*)$", routes_view, name="routes"),
]
