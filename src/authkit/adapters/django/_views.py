"""The one view: a Django request in, :meth:`AuthRoutes.dispatch <authkit.web.AuthRoutes.dispatch>`,
the answer back as a Django response.

The view is exempt from Django's CSRF middleware: authkit's state-changing forms (sign-up,
disconnect, logout) carry authkit's own CSRF token, and the SAML ACS receives the IdP's
cross-site POST (which arrives without the ``SameSite=Lax`` session cookie and is re-posted
same-site by the routes; nothing is written to the session then, so no cookie is set).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse  # type: ignore[import-untyped,unused-ignore]
from django.views.decorators.csrf import (  # type: ignore[import-untyped,unused-ignore]
    csrf_exempt,
)

from authkit.adapters.django._auth import DjangoSession
from authkit.adapters.django._site import get_routes
from authkit.errors import RequestError
from authkit.web import WebRequest, WebResponse, parse_form

__all__ = ["routes_view"]


@csrf_exempt  # type: ignore[untyped-decorator,unused-ignore]
def routes_view(request: Any, path: str) -> Any:
    """Answer one of authkit's routes (``path`` is what follows the mount point).

    Raises:
        Http404: ``path`` is not one of authkit's routes.

    .. versionadded:: 0.1
    """
    routes = get_routes()
    try:
        web = _web_request(request, "/" + path, DjangoSession(request), routes.mount)
    except RequestError as error:
        response: WebResponse | None = WebResponse.problem(error, as_json=False)
    else:
        response = routes.dispatch(web)
    if response is None:
        raise Http404("not an authkit route")
    return _django_response(response)


def _web_request(request: Any, path: str, session: DjangoSession, mount: str) -> WebRequest:
    method = str(request.method).upper()
    content_type = str(request.META.get("CONTENT_TYPE", ""))
    form = parse_form(request.body, content_type) if method == "POST" else {}
    return WebRequest(
        method=method,
        path=path,
        query=dict(request.GET.lists()),
        form=form,
        headers=dict(request.headers.items()),
        session=session,
        script_root=mount,
    )


def _django_response(response: WebResponse) -> Any:
    result = HttpResponse(response.body, status=response.status)
    del result["Content-Type"]  # authkit names the type of every body it sends
    for name, value in response.headers:
        if name.lower() == "set-cookie":
            result.cookies.load(value)
        elif name in result:
            result[name] = f"{result[name]}, {value}"
        else:
            result[name] = value
    return result
