"""The authorization request and callback checks (sans-IO, with a real memory state store)."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from authkit.config import RemoteApp
from authkit.errors import (
    AuthorizationError,
    MissingCredentialsError,
    MissingSettingError,
    RedirectNotAllowedError,
    StateError,
)
from authkit.oauth import begin_authorization, code_challenge, complete_authorization
from authkit.stores import MemoryStateStore

APP = RemoteApp(
    name="op",
    title="OP",
    protocol="oidc",
    issuer="https://op.example.org",
    authorize_url="https://op.example.org/authorize?tenant=1",
    token_url="https://op.example.org/token",
    client_id="client-1",
    client_secret="s3cret",
    scope="email profile",
    authorize_params={"kc_idp_hint": "saml", "state": "attacker-chosen"},
)


@pytest.fixture
def store(clock):
    return MemoryStateStore(clock=clock)


def start(store, clock, app=APP, **kwargs):
    kwargs.setdefault("session_id", "session-A")
    return begin_authorization(
        app,
        redirect_uri="https://rp.example.org/oauth/authorized/op/",
        store=store,
        clock=clock,
        **kwargs,
    )


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_request_carries_state_pkce_nonce_and_scope(store, clock):
    redirect = start(
        store,
        clock,
        next_url="/deposit",
        prompt="login",
        max_age=300,
        login_hint="alice",
        idp_hint="github",
    )
    params = query(redirect.url)
    assert redirect.url.startswith("https://op.example.org/authorize?tenant=1&")
    assert params["response_type"] == "code"
    assert params["client_id"] == "client-1"
    assert params["state"] == redirect.state
    assert len(redirect.state) >= 43
    assert params["scope"] == "openid email profile"
    assert params["code_challenge_method"] == "S256"
    assert params["code_challenge"] == code_challenge(redirect.pending.code_verifier)
    assert params["nonce"] == redirect.pending.nonce
    assert params["prompt"] == "login"
    assert params["max_age"] == "300"
    assert params["login_hint"] == "alice"
    assert params["kc_idp_hint"] == "github"
    assert len(store) == 1


def test_configured_params_cannot_override_computed_ones(store, clock):
    redirect = start(store, clock)
    assert query(redirect.url)["state"] == redirect.state


def test_states_are_unique(store, clock):
    states = {start(store, clock).state for _ in range(50)}
    assert len(states) == 50


def test_pkce_and_nonce_can_be_switched_off(store, clock):
    app = APP.evolve(pkce=False, nonce=False)
    params = query(start(store, clock, app=app).url)
    assert "code_challenge" not in params
    assert "nonce" not in params


def test_plain_oauth2_gets_no_nonce_and_no_openid_scope(store, clock):
    app = APP.evolve(protocol="oauth2", scope="user:email")
    params = query(start(store, clock, app=app).url)
    assert "nonce" not in params
    assert params["scope"] == "user:email"


def test_callback_returns_code_and_pending(store, clock):
    redirect = start(store, clock, next_url="/deposit")
    result = complete_authorization(
        APP,
        {"code": "abc", "state": redirect.state, "iss": APP.issuer},
        session_id="session-A",
        store=store,
        expected_issuer=APP.issuer,
        clock=clock,
    )
    assert result.code == "abc"
    assert result.pending.code_verifier == redirect.pending.code_verifier
    assert result.pending.next_url == "/deposit"


def callback(store, clock, params, **kwargs):
    kwargs.setdefault("session_id", "session-A")
    kwargs.setdefault("expected_issuer", APP.issuer)
    return complete_authorization(APP, params, store=store, clock=clock, **kwargs)


def test_state_missing(store, clock):
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc"})
    assert info.value.code == "oauth.state_missing"


def test_state_unknown(store, clock):
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": "forged"})
    assert info.value.code == "oauth.state_unknown"


def test_state_reused(store, clock):
    state = start(store, clock).state
    callback(store, clock, {"code": "abc", "state": state})
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state})
    assert info.value.code == "oauth.state_reused"


def test_state_expired(store, clock):
    state = start(store, clock).state
    clock.advance(601)
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state})
    assert info.value.code == "oauth.state_expired"


def test_state_long_gone_is_unknown(store, clock):
    state = start(store, clock).state
    clock.advance(3600)
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state})
    assert info.value.code == "oauth.state_unknown"


def test_state_bound_to_the_browser_session(store, clock):
    state = start(store, clock).state
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state}, session_id="session-B")
    assert info.value.code == "oauth.state_session_mismatch"


def test_state_bound_to_the_provider(store, clock):
    state = start(store, clock).state
    other = APP.evolve(name="other")
    with pytest.raises(StateError) as info:
        complete_authorization(
            other, {"code": "abc", "state": state}, session_id="session-A", store=store, clock=clock
        )
    assert info.value.code == "oauth.state_provider_mismatch"


def test_iss_mismatch_is_a_mix_up(store, clock):
    state = start(store, clock).state
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state, "iss": "https://evil.example"})
    assert info.value.code == "oauth.issuer_mismatch"


def test_iss_required_when_advertised(store, clock):
    state = start(store, clock).state
    with pytest.raises(StateError) as info:
        callback(store, clock, {"code": "abc", "state": state}, require_iss=True)
    assert info.value.code == "oauth.issuer_missing"


def test_oauth_error_response(store, clock):
    state = start(store, clock).state
    with pytest.raises(AuthorizationError) as info:
        callback(
            store,
            clock,
            {"state": state, "error": "access_denied", "error_description": "User cancelled"},
        )
    assert info.value.code == "oauth.access_denied"
    assert info.value.error_description == "User cancelled"
    assert "cancelled" in info.value.message


def test_oauth_error_code_is_sanitised(store, clock):
    state = start(store, clock).state
    with pytest.raises(AuthorizationError) as info:
        callback(store, clock, {"state": state, "error": "<script>x</script>"})
    assert info.value.code == "oauth._script_x__script_"


def test_code_missing(store, clock):
    state = start(store, clock).state
    with pytest.raises(StateError) as info:
        callback(store, clock, {"state": state})
    assert info.value.code == "oauth.code_missing"


def test_repeated_parameter_refused(store, clock):
    state = start(store, clock).state
    with pytest.raises(StateError) as info:
        callback(store, clock, {"state": [state, state], "code": "x"})
    assert info.value.code == "oauth.malformed"


def test_next_url_checked_when_starting(store, clock):
    with pytest.raises(RedirectNotAllowedError):
        start(store, clock, next_url="https://evil.example/phish")
    with pytest.raises(RedirectNotAllowedError):
        start(store, clock, next_url="//evil.example/phish")
    ok = start(
        store, clock, next_url="https://app.example.org/x", allowed_hosts=("app.example.org",)
    )
    assert ok.pending.next_url == "https://app.example.org/x"


def test_missing_configuration_is_named(store, clock):
    with pytest.raises(MissingSettingError) as info:
        start(store, clock, app=APP.evolve(authorize_url=None))
    assert "authorize_url" in str(info.value)
    with pytest.raises(MissingCredentialsError):
        start(store, clock, app=APP.evolve(client_id=None))


def test_state_taken_once_under_a_race(store, clock):
    state = start(store, clock).state
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        try:
            callback(store, clock, {"code": "abc", "state": state})
            outcomes.append("ok")
        except StateError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"oauth.state_reused", "oauth.state_unknown"}


def test_iss_ignored_without_a_known_issuer(store, clock):
    app = APP.evolve(issuer=None, protocol="oauth2")
    state = start(store, clock, app=app).state
    result = complete_authorization(
        app,
        {"code": "abc", "state": state, "iss": "https://whatever.example"},
        session_id="session-A",
        store=store,
        clock=clock,
    )
    assert result.code == "abc"
