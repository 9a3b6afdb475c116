"""The site's own pages: a home page with a sign-in link, and the signed-in person's account."""

from html import escape
from urllib.parse import urlencode

from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse

from authkit.adapters.django import DjangoSession, current_account_id, current_groups
from authkit.web import csrf_token, page


def home(request):
    if request.user.is_authenticated:
        name = escape(request.user.get_username())
        body = f'<p>Signed in as {name}.</p><a href="/account/">Your account</a>'
    else:
        login = reverse("authkit:login") + "?" + urlencode({"next": "/account/"})
        body = f'<a class="button" href="{escape(login)}">Sign in</a>'
    return HttpResponse(page("authkit on Django", f"<h1>authkit on Django</h1>{body}"))


def account(request):
    if not request.user.is_authenticated:
        login = reverse("authkit:login") + "?" + urlencode({"next": request.path})
        return HttpResponseRedirect(login)
    user = request.user
    rows = {
        "Django user": user.get_username(),
        "E-mail": user.email,
        "authkit account": current_account_id(request),
        "Groups": ", ".join(sorted(current_groups(request))) or "(none)",
    }
    table = "".join(
        f'<tr><th>{escape(k)}</th><td class="{k.split()[-1].lower()}">{escape(str(v))}</td></tr>'
        for k, v in rows.items()
    )
    # authkit's logout route checks authkit's CSRF token (Django's middleware exempts it).
    token = csrf_token(DjangoSession(request))
    logout = (
        f'<form method="post" action="{reverse("authkit:logout")}">'
        f'<input type="hidden" name="csrf_token" value="{escape(token)}">'
        '<button type="submit">Sign out</button></form>'
    )
    return HttpResponse(
        page("Your account", f"<h1>Your account</h1><table>{table}</table>{logout}")
    )
