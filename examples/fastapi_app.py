"""The same small site as ``starlette_app.py``, with FastAPI and authkit's identity dependency.

Run it with authkit's loopback test providers (``starlette_app.py`` starts them and the server)::

    pip install 'authkit[starlette]' fastapi uvicorn
    python examples/fastapi_app.py --test-providers --port 8000

then open the URL it prints and sign in as ``alice`` / ``alice-pw`` (OpenID Connect) or ``bob``
/ ``bob-pw`` (SAML); ``--auto-login`` skips the providers' login forms.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from authkit.adapters.starlette import (
    AuthkitIdentity,
    AuthkitMiddleware,
    current_identity,
    require_identity,
)
from authkit.web import AuthRoutes, SignedCookieCodec, csrf_token, page

sys.path.insert(0, str(Path(__file__).parent))
from starlette_app import main  # the test providers and the server

Identity = Annotated[AuthkitIdentity | None, Depends(current_identity)]
SignedIn = Annotated[AuthkitIdentity, Depends(require_identity)]


def create_app(routes: AuthRoutes, *, secret_key: str) -> FastAPI:
    """The site: authkit's middleware in front of the home, account and API pages."""
    app = FastAPI(title="authkit FastAPI example")
    app.add_middleware(AuthkitMiddleware, routes=routes, codec=SignedCookieCodec([secret_key]))

    @app.get("/", response_class=HTMLResponse)
    def home(identity: Identity) -> str:
        if identity is None:
            body = '<h1>Welcome</h1><p><a class="button" href="/login/?next=/account">Sign in</a>'
        else:
            body = (
                f"<h1>Welcome back</h1><p>Signed in as "
                f'<code>{html.escape(identity.account_id)}</code>. <a href="/account">Account</a>'
            )
        return page("Example site", body)

    @app.get("/account", response_class=HTMLResponse, response_model=None)
    def account(request: Request, identity: Identity) -> str | RedirectResponse:
        if identity is None:
            return RedirectResponse("/login/?next=/account", status_code=303)
        groups = "".join(f"<li>{html.escape(g)}</li>" for g in sorted(identity.groups))
        token = html.escape(csrf_token(request.scope["authkit"]["session"]))
        body = (
            "<h1>Your account</h1>"
            f'<p>Account id: <code id="account-id">{html.escape(identity.account_id)}</code></p>'
            f"<p>Signed in with: {html.escape(identity.provider or '-')}</p>"
            f'<h2>Groups</h2><ul id="groups">{groups or "<li>none</li>"}</ul>'
            '<form method="post" action="/logout/">'
            f'<input type="hidden" name="csrf_token" value="{token}">'
            '<button type="submit">Sign out</button></form>'
        )
        return page("Your account", body)

    @app.get("/api/me")
    def me(identity: SignedIn) -> dict[str, object]:  # 401 when nobody is signed in
        return {"account_id": identity.account_id, "groups": sorted(identity.groups)}

    return app


if __name__ == "__main__":
    sys.exit(main(create=create_app, name="FastAPI"))
