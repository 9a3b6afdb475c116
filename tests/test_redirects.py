from __future__ import annotations

import pytest

from authkit._redirects import check_redirect
from authkit.errors import RedirectNotAllowedError

HOSTS = ("app.example.org", ".example.net", "localhost:8080")


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/account?x=1",
        "https://app.example.org/x",
        "http://sub.example.net/",
        "https://example.net/",
        "http://localhost:8080/cb",
    ],
)
def test_allowed(target: str) -> None:
    assert check_redirect(target, allowed_hosts=HOSTS) == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "https://app.example.org.evil.example/",
        "http://localhost:9090/",
        "account",
        "https://evilexample.net/",
        "/x\r\nLocation: https://evil",
        "",
        "data:text/html,x",
        "https:///nohost",
    ],
)
def test_refused(target: str) -> None:
    with pytest.raises(RedirectNotAllowedError) as info:
        check_redirect(target, allowed_hosts=HOSTS)
    assert info.value.code == "request.redirect_not_allowed"
