"""Bad requests to the SAML routes and bad session keys get typed errors with stable codes."""

from __future__ import annotations

import json

import pytest
from tests.saml.saml_sp_kit import make_sp
from tests.web.site_kit import make_routes

from authkit.errors import ConfigurationError
from authkit.web import SAMLProvider, SignedCookieCodec, WebRequest

ROUTES = make_routes(
    "https://data.example.org", [], saml=[SAMLProvider(name="idp", title="IdP", sp=make_sp())]
)


def problem(request: WebRequest) -> tuple[int, str]:
    answer = ROUTES.dispatch(request)
    assert answer is not None
    return answer.status, json.loads(answer.body)["code"]


def json_request(method: str, path: str, **values: object) -> WebRequest:
    return WebRequest(method=method, path=path, headers={"Accept": "application/json"},
                      **values)  # type: ignore[arg-type]  # fmt: skip


def test_the_acs_takes_only_post() -> None:
    assert problem(json_request("GET", "/saml/acs/idp/")) == (400, "request.method_not_allowed")


def test_an_acs_post_without_a_response() -> None:
    status, code = problem(json_request("POST", "/saml/acs/idp/", form={"RelayState": ["/"]}))
    assert (status, code) == (400, "saml.missing")


def test_a_logout_answer_nobody_asked_for() -> None:
    request = json_request("GET", "/saml/sls/idp/", query={"SAMLResponse": ["eA=="]})
    assert problem(request) == (400, "saml.logout_unknown")


def test_session_keys_must_be_long() -> None:
    with pytest.raises(ConfigurationError) as info:
        SignedCookieCodec(["short"])
    assert info.value.code == "config.weak_secret"


def test_a_tampered_session_cookie_is_an_empty_session() -> None:
    codec = SignedCookieCodec(["k" * 32])
    value = codec.dumps({"authkit.user": "u1"})
    assert codec.loads(value) == {"authkit.user": "u1"}
    assert codec.loads(value[:-2] + ("AA" if not value.endswith("AA") else "BB")) == {}
    assert SignedCookieCodec(["j" * 32]).loads(value) == {}
    # An old key still verifies during rotation.
    assert SignedCookieCodec(["j" * 32, "k" * 32]).loads(value) == {"authkit.user": "u1"}
