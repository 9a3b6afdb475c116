"""The remote groups source over real loopback HTTP: fetch, cache, refresh, failure policies.

Two real peers serve the groups:

- the test OpenID provider's UserInfo endpoint (``path="groups"``), called with an access token
  obtained through a real authorization-code flow; its fault injection makes it slow, failing or
  malformed;
- a small groups endpoint on authkit's loopback server, for answer shapes the OpenID provider
  does not serve (arrays of group objects, bare arrays).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from authkit.errors import (
    InvalidSettingError,
    ProviderHTTPError,
    ProviderResponseError,
    ProviderTimeoutError,
    ProviderUnreachableError,
    RequestError,
)
from authkit.groups import GroupResolver, GroupRules, RemoteSource
from authkit.stores import MemoryStateStore
from authkit.testing._http import LoopbackHTTPServer, ServerRequest, ServerResponse
from authkit.testing._oidc_model import OIDCClient, OIDCUser
from authkit.testing._oidc_provider import OIDCProvider
from authkit.transport import RequestsTransport, Timeout

CLIENT_ID = "groups-test"
CLIENT_SECRET = "groups-test-secret"
REDIRECT_URI = "http://127.0.0.1:5000/oauth/authorized/test/"
BOB = OIDCUser(
    sub="bob",
    claims={"email": "bob@example.org", "groups": ["staff", "editors", "/org/curators"]},
)
TINY = Timeout(connect=1.0, read=0.2)


@pytest.fixture
def provider(clock: Any) -> Iterator[OIDCProvider]:
    client = OIDCClient(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, redirect_uris=[REDIRECT_URI]
    )
    with OIDCProvider(users=[BOB], clients=[client], auto_login="bob", clock=clock) as running:
        yield running


def access_token_for(provider: OIDCProvider, scope: str = "openid groups") -> str:
    """Run a real authorization-code flow with PKCE against the provider."""
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    answer = requests.get(
        provider.authorize_url,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        provider.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )
    token: str = tokens.json()["access_token"]
    return token


def resolver_for(
    provider: OIDCProvider,
    clock: Any,
    *,
    on_failure: Any = "deny",
    timeout: Timeout = TINY,
    store: MemoryStateStore | None = None,
    **remote: Any,
) -> GroupResolver:
    return GroupResolver(
        provider="test-idp",
        static=["users"],
        remote=RemoteSource(url=provider.userinfo_url, path="groups", timeout=timeout, **remote),
        rules=GroupRules(strip_prefixes="/org/"),
        on_failure=on_failure,
        transport=RequestsTransport(),
        store=store if store is not None else MemoryStateStore(clock=clock),
        clock=clock,
    )


# --- fetching ------------------------------------------------------------------------------------


def test_fetches_groups_with_the_access_token(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    resolution = resolver_for(provider, clock).resolve_detailed(
        {"sub": "bob"}, access_token=token, now=clock.now
    )
    assert resolution.groups == {"users", "staff", "editors", "curators"}
    remote = resolution.outcomes[0]
    assert (remote.source, remote.status) == (f"remote:{provider.userinfo_url}", "ok")
    assert remote.fetched_at == clock.now
    assert resolution.fetched_at == clock.now
    sent = provider.last_request("userinfo")
    assert sent is not None
    assert sent.headers["authorization"] == f"Bearer {token}"
    assert sent.headers["accept"] == "application/json"


def test_access_token_from_the_token_response(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    groups = resolver_for(provider, clock).resolve(
        {"sub": "bob"}, token={"access_token": token, "token_type": "Bearer"}
    )
    assert "staff" in groups


def test_a_refused_token_is_an_http_error(provider: OIDCProvider, clock: Any) -> None:
    with pytest.raises(ProviderHTTPError) as info:
        resolver_for(provider, clock).resolve({"sub": "bob"}, access_token="not-a-token")
    assert info.value.code == "provider.http_error"
    assert info.value.status == 401
    assert info.value.error == "invalid_token"


def test_no_access_token_is_a_request_error_whatever_the_policy(
    provider: OIDCProvider, clock: Any
) -> None:
    with pytest.raises(RequestError) as info:
        resolver_for(provider, clock, on_failure="continue").resolve({"sub": "bob"})
    assert info.value.code == "groups.access_token_missing"
    assert provider.request_count("userinfo") == 0


# --- cache and refresh ---------------------------------------------------------------------------


def test_cache_hit_makes_no_request(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, refresh_interval=60)
    first = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 1
    clock.advance(59)
    again = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 1
    assert again.groups == first.groups
    assert again.outcomes[0].status == "cached"
    assert again.outcomes[0].fetched_at == first.outcomes[0].fetched_at
    assert again.fetched_at == first.fetched_at  # freshness is the fetch time, not now
    # a cache hit does not even need the token
    assert resolver.resolve({"sub": "bob"}) == first.groups


def test_refresh_after_the_interval(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, refresh_interval=60)
    fetched = clock.now
    resolver.resolve({"sub": "bob"}, access_token=token)
    clock.advance(60)
    resolution = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 2
    assert resolution.outcomes[0].status == "ok"
    assert resolution.fetched_at == clock.now
    assert resolution.fetched_at > fetched


def test_cache_is_per_subject_and_hashed(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    store = MemoryStateStore(clock=clock)
    resolver = resolver_for(provider, clock, store=store)
    resolver.resolve({"sub": "bob"}, access_token=token)
    resolver.resolve({"sub": "bob-2"}, access_token=token)
    assert provider.request_count("userinfo") == 2
    source = resolver.sources[0]
    assert isinstance(source, RemoteSource)
    key = source.cache_key("test-idp", "bob")
    assert "bob" not in key
    assert store.get(key) == {
        "names": ["staff", "editors", "/org/curators"],
        "fetched_at": clock(),
    }


def test_explicit_subject_overrides_sub(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock)
    resolver.resolve({"sub": "ignored"}, access_token=token, subject="account-7")
    resolver.resolve({}, access_token=token, subject="account-7")
    assert provider.request_count("userinfo") == 1


def test_without_a_subject_nothing_is_cached(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock)
    resolver.resolve({}, access_token=token)
    resolver.resolve({}, access_token=token)
    assert provider.request_count("userinfo") == 2


def test_a_foreign_cache_entry_is_ignored(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    store = MemoryStateStore(clock=clock)
    resolver = resolver_for(provider, clock, store=store)
    source = resolver.sources[0]
    assert isinstance(source, RemoteSource)
    store.put(source.cache_key("test-idp", "bob"), {"names": "staff"}, ttl=600)
    assert "editors" in resolver.resolve({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 1


# --- failures and policies -----------------------------------------------------------------------

FAILURES: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("delay", {"seconds": 5.0}, ProviderTimeoutError, "provider.timeout"),
    ("http_500", {}, ProviderHTTPError, "provider.http_error"),
    ("malformed_json", {}, ProviderResponseError, "provider.malformed_response"),
    ("close_connection", {}, ProviderUnreachableError, "provider.unreachable"),
]


@pytest.mark.parametrize(("fault", "options", "error", "code"), FAILURES)
def test_deny_raises_the_typed_error(
    provider: OIDCProvider,
    clock: Any,
    fault: str,
    options: dict[str, Any],
    error: type[Exception],
    code: str,
) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, on_failure="deny")
    with provider.fault("userinfo", fault, **options), pytest.raises(error) as info:
        resolver.resolve({"sub": "bob"}, access_token=token)
    assert getattr(info.value, "code", None) == code


@pytest.mark.parametrize(("fault", "options", "error", "code"), FAILURES)
def test_keep_cached_uses_the_last_answer_and_says_so(
    provider: OIDCProvider,
    clock: Any,
    fault: str,
    options: dict[str, Any],
    error: type[Exception],
    code: str,
) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, on_failure="keep_cached", refresh_interval=60)
    fetched = clock.now
    before = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    clock.advance(120)  # stale: a fetch is due
    with provider.fault("userinfo", fault, **options):
        resolution = resolver.resolve_detailed(
            {"sub": "bob"}, access_token=token, previous=before.managed
        )
    outcome = resolution.outcomes[0]
    assert outcome.status == "kept_cached"
    assert isinstance(outcome.error, error)
    assert outcome.error.code == code
    assert outcome.fetched_at == fetched
    assert resolution.groups == before.groups
    assert resolution.fetched_at == fetched
    assert resolution.partial
    assert resolution.removed == frozenset()


def test_keep_cached_with_nothing_cached_continues_without(
    provider: OIDCProvider, clock: Any
) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, on_failure="keep_cached")
    with provider.fault("userinfo", "http_500"):
        resolution = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    assert resolution.outcomes[0].status == "skipped"
    assert resolution.groups == {"users"}


@pytest.mark.parametrize(("fault", "options", "error", "code"), FAILURES)
def test_continue_goes_on_without_the_source(
    provider: OIDCProvider,
    clock: Any,
    fault: str,
    options: dict[str, Any],
    error: type[Exception],
    code: str,
) -> None:
    token = access_token_for(provider)
    resolver = resolver_for(provider, clock, on_failure="continue", refresh_interval=60)
    before = resolver.resolve_detailed({"sub": "bob"}, access_token=token)
    clock.advance(61)
    with provider.fault("userinfo", fault, **options):
        resolution = resolver.resolve_detailed(
            {"sub": "bob"}, access_token=token, previous=before.managed
        )
    outcome = resolution.outcomes[0]
    assert outcome.status == "skipped"
    assert outcome.names == ()
    assert outcome.fetched_at is None
    assert isinstance(outcome.error, error)
    assert resolution.groups == {"users"}
    # an outage must not strip the provider's groups: nothing removed, all still managed
    assert resolution.removed == frozenset()
    assert resolution.managed == before.managed
    assert resolution.partial


def test_no_retry_on_the_sign_in_path_by_default(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    with provider.fault("userinfo", "http_500"), pytest.raises(ProviderHTTPError):
        resolver_for(provider, clock).resolve({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 1


def test_retry_can_be_allowed(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    slept: list[float] = []
    resolver = GroupResolver(
        remote=RemoteSource(url=provider.userinfo_url, path="groups", timeout=TINY, retry=True),
        transport=RequestsTransport(sleep=slept.append),
        clock=clock,
    )
    with provider.fault("userinfo", "http_500", times=1):
        assert "staff" in resolver.resolve({"sub": "bob"}, access_token=token)
    assert provider.request_count("userinfo") == 2
    assert slept == [0.2]


def test_the_read_timeout_is_the_sources_own(provider: OIDCProvider, clock: Any) -> None:
    token = access_token_for(provider)
    slow_but_allowed = resolver_for(provider, clock, timeout=Timeout(connect=1.0, read=3.0))
    with provider.fault("userinfo", "delay", seconds=0.3):
        assert "staff" in slow_but_allowed.resolve({"sub": "bob"}, access_token=token)


def test_unreachable_endpoint(clock: Any) -> None:
    with LoopbackHTTPServer(lambda request: ServerResponse.json([])) as server:
        url = server.base_url + "/groups"
    resolver = GroupResolver(
        remote=RemoteSource(url=url, timeout=TINY),
        transport=RequestsTransport(),
        clock=clock,
    )
    with pytest.raises(ProviderUnreachableError) as info:
        resolver.resolve({"sub": "x"}, access_token="t")
    assert info.value.code == "provider.unreachable"


# --- answer shapes, from a plain groups endpoint -------------------------------------------------


@pytest.fixture
def groups_endpoint() -> Iterator[Callable[[Any], str]]:
    """Serve ``answer`` (JSON, or raw bytes) at /groups; returns the URL."""
    servers: list[LoopbackHTTPServer] = []

    def serve(answer: Any) -> str:
        def handle(request: ServerRequest) -> ServerResponse:
            if isinstance(answer, bytes):
                return ServerResponse(headers={"Content-Type": "application/json"}, body=answer)
            return ServerResponse.json(answer)

        server = LoopbackHTTPServer(handle)
        server.start()
        servers.append(server)
        return server.base_url + "/groups"

    yield serve
    for server in servers:
        server.stop()


def resolve_from(url: str, **remote: Any) -> frozenset[str]:
    resolver = GroupResolver(
        remote=RemoteSource(url=url, timeout=TINY, **remote),
        transport=RequestsTransport(),
    )
    return resolver.resolve({"sub": "x"}, access_token="t")


@pytest.mark.parametrize(
    ("answer", "options", "expected"),
    [
        (["a", "b"], {}, {"a", "b"}),
        ({"groups": ["a"]}, {"path": "groups"}, {"a"}),
        ({"data": {"my.groups": ["a"]}}, {"path": r"data.my\.groups"}, {"a"}),
        ([{"id": "g1", "name": "One"}, {"name": "Two"}], {}, {"g1", "Two"}),
        (
            [{"id": "1", "name": "staff", "path": "/org/staff"}],
            {"item_key": "path"},
            {"/org/staff"},
        ),
    ],
)
def test_answer_shapes(
    groups_endpoint: Callable[[Any], str],
    answer: Any,
    options: dict[str, Any],
    expected: set[str],
) -> None:
    assert resolve_from(groups_endpoint(answer), **options) == expected


@pytest.mark.parametrize(
    ("answer", "options"),
    [
        ({"groups": ["a"]}, {}),  # an object where an array was expected
        (["a"], {"path": "groups"}),  # an array where an object was expected
        ({"other": []}, {"path": "groups"}),
        ({"groups": "a b"}, {"path": "groups"}),
        ([{"id": "1"}], {"item_key": "path"}),
        (["a", 3], {}),
        (b"\xff\xfe", {}),
    ],
)
def test_malformed_answers(
    groups_endpoint: Callable[[Any], str], answer: Any, options: dict[str, Any]
) -> None:
    with pytest.raises(ProviderResponseError) as info:
        resolve_from(groups_endpoint(answer), **options)
    assert info.value.code in ("groups.malformed_value", "provider.malformed_response")


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"url": "ftp://example.org/groups"}, "RemoteSource.url"),
        ({"url": "not a url"}, "RemoteSource.url"),
        ({"refresh_interval": 0}, "RemoteSource.refresh_interval"),
        ({"refresh_interval": 600, "keep_for": 60}, "RemoteSource.keep_for"),
        ({"timeout": {"connect": 0}}, "RemoteSource.timeout"),
        ({"timeout": 3}, "RemoteSource.timeout"),
        ({"headers": {"Authorization": "Basic x"}}, "RemoteSource.headers"),
        ({"headers": {"X-Count": 1}}, "RemoteSource.headers"),
        ({"path": "a..b"}, "RemoteSource.path"),
    ],
)
def test_bad_remote_configuration(kwargs: dict[str, Any], key: str) -> None:
    kwargs.setdefault("url", "https://groups.example.org/me")
    with pytest.raises(InvalidSettingError) as info:
        RemoteSource(**kwargs)
    assert info.value.key == key


def test_timeout_from_a_mapping() -> None:
    source = RemoteSource(url="https://x.example/g", timeout={"connect": 1, "read": 2})
    assert source.timeout == Timeout(connect=1, read=2)
