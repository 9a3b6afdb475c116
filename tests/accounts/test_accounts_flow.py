"""AccountFlow on the memory stores: every outcome, every bad input, and the store contents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from accounts_kit import (
    GITHUB,
    KEY,
    KEYCLOAK,
    ORCID,
    SOCIAL,
    Recorder,
    count,
    info,
    jane,
    make_flow,
    snapshot,
    tokens,
)

from authkit.accounts import (
    AccountFlow,
    AccountInfo,
    AccountSetup,
    ClaimPolicy,
    ConfirmLinkRequired,
    Denied,
    Disconnected,
    EmailDomainPolicy,
    Linked,
    ProviderSettings,
    Registered,
    RegistrationRequired,
    SignedIn,
    SignupPolicy,
    TokenCipher,
)
from authkit.config import Hooks, ProviderRegistry, RemoteApp, SignupOptions
from authkit.errors import (
    AuthkitError,
    ConflictError,
    InvalidSettingError,
    ProviderHTTPError,
    RequestError,
    UnknownProviderError,
)
from authkit.saml import MappedIdentity, SAMLIdPConfig
from authkit.stores import MemoryAccountsStore, MemoryStateStore, User

ORCID_ID = "0000-0002-1825-0097"


def orcid_info(**claims: Any) -> AccountInfo:
    claims.setdefault("name", "Josiah Carberry")
    return info("orcid", ORCID_ID, email_verified=False, **claims)


def registered(flow: AccountFlow, who: AccountInfo | None = None) -> User:
    outcome = flow.callback("keycloak", who or jane(), tokens=tokens())
    assert isinstance(outcome, Registered)
    return outcome.user


# --- sign-up -------------------------------------------------------------------------------------


def test_signup_creates_user_identity_remote_account_and_encrypted_tokens() -> None:
    flow = make_flow()
    seen = Recorder(flow)
    outcome = flow.callback("keycloak", jane(), tokens=tokens("at-secret", "rt-secret"))
    assert isinstance(outcome, Registered)
    user = outcome.user
    assert user.email == "jane@example.org"
    assert user.email_verified is True
    assert user.username == "jdoe"
    assert user.profile == {"full_name": "Jane Doe"}
    assert user.confirmed_at is not None  # auto_confirm
    assert outcome.send_register_msg is False
    assert outcome.confirmation_required is False
    with flow.accounts.transaction() as tx:
        identity = tx.get_identity("keycloak", "kc-jane")
        assert identity is not None
        assert identity.user_id == user.id
        account = tx.get_remote_account(user.id, "keycloak")
        assert account is not None
        assert account.extra_data == {"external_id": "kc-jane", "external_method": "keycloak"}
        stored = {t.token_type: t for t in tx.remote_tokens_of(user.id, "keycloak")}
    assert set(stored) == {"access", "refresh"}
    assert b"at-secret" not in stored["access"].ciphertext  # encrypted at rest
    assert TokenCipher([KEY]).decrypt(stored["access"].ciphertext) == b"at-secret"
    assert stored["access"].expires_at is not None
    decrypted = flow.provider_tokens(user.id, "keycloak")
    assert decrypted is not None
    assert (decrypted.access_token, decrypted.refresh_token) == ("at-secret", "rt-secret")
    assert seen.kinds == ["info_received", "setup", "registered", "signed_in"]
    registered_event = seen.events[2]
    assert registered_event.user == user
    assert registered_event.data == {"send_register_msg": False, "confirmation_required": False}


def test_second_sign_in_is_signed_in_and_refreshes_tokens_only() -> None:
    flow = make_flow()
    user = registered(flow)
    seen = Recorder(flow)
    outcome = flow.callback(
        "keycloak",
        jane(name="Jane Q. Doe", preferred_username="other"),
        tokens=tokens("at-2", None),
    )
    assert isinstance(outcome, SignedIn)
    assert outcome.user.id == user.id
    assert outcome.updated_fields == ()  # Invenio mask: import only, no sync
    assert outcome.user.profile == {"full_name": "Jane Doe"}
    current = flow.provider_tokens(user.id, "keycloak")
    assert current is not None
    assert current.access_token == "at-2"
    assert current.refresh_token == "refresh-1"  # no new refresh token: the old one is kept
    assert seen.kinds == ["info_received", "signed_in"]


def test_force_fields_are_refreshed_on_every_sign_in() -> None:
    app = KEYCLOAK.evolve(
        precedence_mask={
            "email": "force",
            "profile": {"username": False, "full_name": "force", "affiliations": "force"},
        }
    )
    flow = make_flow(providers=[app])
    user = registered(flow)
    outcome = flow.callback(
        "keycloak",
        jane(
            email="jane.doe@example.org",
            name="Jane Q. Doe",
            preferred_username="changed",
            eduperson_scoped_affiliation=["staff@example.org"],
        ),
    )
    assert isinstance(outcome, SignedIn)
    assert set(outcome.updated_fields) == {"email", "profile.full_name", "profile.affiliations"}
    assert outcome.user.email == "jane.doe@example.org"
    assert outcome.user.email_verified is True
    assert outcome.user.username == "jdoe"  # the person's field is never synced
    assert outcome.user.profile == {
        "full_name": "Jane Q. Doe",
        "affiliations": ["staff@example.org"],
    }
    with flow.accounts.transaction() as tx:
        assert tx.get_user(user.id) == outcome.user
    # said empty clears a force field; not said leaves it
    cleared = flow.callback("keycloak", jane(email="jane.doe@example.org", name=None))
    assert isinstance(cleared, SignedIn)
    assert cleared.user.profile.get("full_name") is None
    kept = flow.callback(
        "keycloak",
        info("keycloak", "kc-jane", email="jane.doe@example.org", email_verified=True),
    )
    assert isinstance(kept, SignedIn)
    assert kept.updated_fields == ()
    assert kept.user.profile["affiliations"] == ["staff@example.org"]


def test_forced_active_flag_from_the_provider_can_close_the_account() -> None:
    flow = make_flow(providers=[KEYCLOAK.evolve(precedence_mask={"active": "force"})])
    user = registered(flow)
    closed = flow.callback(
        "keycloak",
        AccountInfo.from_dict(
            {"external_id": "kc-jane", "user": {"active": False}}, provider="keycloak"
        ),
    )
    assert isinstance(closed, Denied)
    assert closed.code == "accounts.user_inactive"
    with flow.accounts.transaction() as tx:
        stored = tx.get_user(user.id)
    assert stored is not None
    assert stored.active is False


def test_force_email_taken_by_another_account_is_kept_and_sign_in_succeeds() -> None:
    app = KEYCLOAK.evolve(precedence_mask={"email": "force"})
    flow = make_flow(providers=[app])
    registered(flow)
    registered(flow, info("keycloak", "kc-bob", email="bob@example.org", email_verified=True))
    outcome = flow.callback("keycloak", jane(email="bob@example.org"))
    assert isinstance(outcome, SignedIn)
    assert outcome.user.email == "jane@example.org"
    assert outcome.updated_fields == ()


def test_orcid_like_signup_needs_registration_then_completes() -> None:
    flow = make_flow()
    seen = Recorder(flow)
    before = snapshot(flow.accounts)
    outcome = flow.callback("orcid", orcid_info(), tokens=tokens("orcid-at", None))
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.missing == ("email",)
    assert outcome.prefill == {"profile.full_name": "Josiah Carberry"}
    fields = {f.name: f for f in outcome.fields}
    assert fields["email"].editable
    assert fields["email"].required
    assert fields["email"].missing
    assert not fields["profile.full_name"].editable  # ORCID mask: omitted -> provider's
    assert snapshot(flow.accounts) == before  # nothing created yet
    assert len(flow.state) == 1  # type: ignore[arg-type]
    again = flow.registration(outcome.token)
    assert again.missing == ("email",)
    done = flow.complete_registration(outcome.token, {"email": "Josiah@Example.ORG"})
    assert isinstance(done, Registered)
    assert done.user.email == "Josiah@example.org"
    assert done.user.email_verified is False  # typed by the person
    assert done.user.confirmed_at is None  # ORCID: no auto-confirmation
    assert done.confirmation_required is True
    assert done.send_register_msg is True
    assert done.user.profile == {"full_name": "Josiah Carberry"}
    tokens_now = flow.provider_tokens(done.user.id, "orcid")
    assert tokens_now is not None
    assert tokens_now.access_token == "orcid-at"
    assert len(flow.state) == 0  # type: ignore[arg-type]
    assert seen.kinds[-3:] == ["setup", "registered", "signed_in"]
    assert seen.events[-2].data["send_register_msg"] is True
    # the same identity signs in directly next time
    assert isinstance(flow.callback("orcid", orcid_info()), SignedIn)


def test_terms_of_use_always_go_through_the_form() -> None:
    flow = make_flow(signup=SignupPolicy(terms=("terms_of_use",)))
    outcome = flow.callback("keycloak", jane())
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.missing == ()
    assert outcome.terms == ("terms_of_use",)
    before = snapshot(flow.accounts)
    for refused in ({}, {"terms_of_use": False}, {"terms_of_use": "off"}):
        with pytest.raises(RequestError) as caught:
            flow.complete_registration(outcome.token, refused)
        assert caught.value.code == "accounts.terms_not_accepted"
    assert snapshot(flow.accounts) == before
    done = flow.complete_registration(outcome.token, {"terms_of_use": "on"})
    assert isinstance(done, Registered)
    assert done.user.username == "jdoe"


# --- bad input: a typed error and nothing changed -------------------------------------------------


@pytest.fixture
def pending() -> tuple[AccountFlow, RegistrationRequired]:
    flow = make_flow(signup=SignupPolicy(required_fields=("email", "profile.username")))
    registered(
        flow, info("keycloak", "kc-taken", email="t@example.org", preferred_username="taken")
    )
    outcome = flow.callback("orcid", orcid_info(), tokens=tokens())
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.missing == ("email", "profile.username")
    return flow, outcome


@pytest.mark.parametrize(
    ("user_input", "code"),
    [
        ({"email": "not-an-address", "profile.username": "josiah"}, "accounts.email_invalid"),
        ({"email": "a@b", "profile.username": "josiah"}, "accounts.email_invalid"),
        ({"email": "a b@example.org", "profile.username": "josiah"}, "accounts.email_invalid"),
        ({"email": "josiah@example.org", "profile.username": "taken"}, "accounts.username_taken"),
        ({"email": "josiah@example.org", "profile.username": "TAKEN"}, "accounts.username_taken"),
        ({"email": "josiah@example.org", "profile.username": "1x"}, "accounts.username_invalid"),
        ({"email": "josiah@example.org", "profile.username": "jo"}, "accounts.username_invalid"),
        (
            {"email": "j@example.org", "profile": {"username": "josiah", "full_name": "Evil"}},
            "accounts.field_provider_owned",
        ),
        ({"profile.username": "josiah"}, "accounts.field_required"),
        ({"email": "josiah@example.org"}, "accounts.field_required"),
        (
            {"email": "j@example.org", "profile.username": "josiah", "admin": "1"},
            "accounts.unknown_field",
        ),
        (
            {"email": "j@example.org", "password": "x", "profile.username": "josiah"},
            "accounts.unknown_field",
        ),
        ({"email": ["j@example.org"], "profile.username": "josiah"}, "accounts.field_invalid"),
        ({"email": "j@example.org", "profile": "josiah"}, "accounts.unknown_field"),
    ],
)
def test_bad_registration_input_is_refused_and_changes_nothing(
    pending: tuple[AccountFlow, RegistrationRequired], user_input: dict[str, Any], code: str
) -> None:
    flow, outcome = pending
    before = snapshot(flow.accounts)
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(outcome.token, user_input)
    assert caught.value.code == code
    assert snapshot(flow.accounts) == before
    # the pending registration is still usable: the form can be shown again and completed
    done = flow.complete_registration(
        outcome.token, {"email": "josiah@example.org", "profile.username": "josiah"}
    )
    assert isinstance(done, Registered)
    assert done.user.username == "josiah"


def _tampered(token: str) -> str:
    middle = len(token) // 2
    flipped = "A" if token[middle] != "A" else "B"
    return token[:middle] + flipped + token[middle + 1 :]


@pytest.mark.parametrize(
    "make_token",
    [
        _tampered,
        lambda t: t[:-4],
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: TokenCipher([TokenCipher.generate_key()]).seal(
            {"k": "registration", "i": "x"}, now=1.8e9
        ),
    ],
)
def test_tampered_or_foreign_token_is_refused(
    pending: tuple[AccountFlow, RegistrationRequired], make_token: Any
) -> None:
    flow, outcome = pending
    before = snapshot(flow.accounts)
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(
            make_token(outcome.token), {"email": "j@example.org", "profile.username": "josiah"}
        )
    assert caught.value.code == "accounts.pending_invalid"
    assert snapshot(flow.accounts) == before


def test_expired_token_is_refused(clock: Any) -> None:
    flow = make_flow(clock=clock, signup=SignupPolicy(pending_ttl=600))
    outcome = flow.callback("orcid", orcid_info())
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.expires_at == clock.now + timedelta(seconds=600)
    clock.advance(601)
    before = snapshot(flow.accounts)
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(outcome.token, {"email": "j@example.org"})
    assert caught.value.code == "accounts.pending_expired"
    assert snapshot(flow.accounts) == before


def test_token_is_taken_once() -> None:
    flow = make_flow()
    outcome = flow.callback("orcid", orcid_info())
    assert isinstance(outcome, RegistrationRequired)
    assert isinstance(
        flow.complete_registration(outcome.token, {"email": "j@example.org"}), Registered
    )
    before = snapshot(flow.accounts)
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(outcome.token, {"email": "k@example.org"})
    assert caught.value.code == "accounts.pending_unknown"
    assert snapshot(flow.accounts) == before


def test_token_bound_to_the_session() -> None:
    flow = make_flow()
    outcome = flow.callback("orcid", orcid_info(), session_id="browser-1")
    assert isinstance(outcome, RegistrationRequired)
    for other in (None, "browser-2"):
        with pytest.raises(RequestError) as caught:
            flow.complete_registration(outcome.token, {"email": "j@example.org"}, session_id=other)
        assert caught.value.code == "accounts.pending_session_mismatch"
    assert count(flow.accounts, "users") == 0
    done = flow.complete_registration(
        outcome.token, {"email": "j@example.org"}, session_id="browser-1"
    )
    assert isinstance(done, Registered)


def test_a_link_token_is_not_a_registration_token() -> None:
    flow = make_flow()
    user = registered(flow)
    outcome = flow.callback("social", info("social", "s-1", email="jane@example.org"))
    assert isinstance(outcome, ConfirmLinkRequired)
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(outcome.token, {"email": "x@example.org"})
    assert caught.value.code == "accounts.pending_invalid"
    assert isinstance(flow.confirm_link(outcome.token, user_id=user.id), Linked)


def test_unknown_provider_is_a_typed_error_and_changes_nothing() -> None:
    flow = make_flow()
    before = snapshot(flow.accounts)
    with pytest.raises(UnknownProviderError) as caught:
        flow.callback("nope", info("nope", "1", email="x@example.org"))
    assert caught.value.code == "registry.unknown"
    assert snapshot(flow.accounts) == before
    with pytest.raises(UnknownProviderError):
        flow.provider("nope")


def test_provider_removed_while_registration_pending() -> None:
    registry = ProviderRegistry([KEYCLOAK, ORCID])
    flow = make_flow(providers=registry)
    outcome = flow.callback("orcid", orcid_info())
    assert isinstance(outcome, RegistrationRequired)
    registry.remove("orcid")
    with pytest.raises(UnknownProviderError):
        flow.complete_registration(outcome.token, {"email": "j@example.org"})
    assert count(flow.accounts, "users") == 0


def test_external_method_must_name_the_provider() -> None:
    flow = make_flow()
    with pytest.raises(InvalidSettingError) as caught:
        flow.callback("keycloak", info("github", "1", email="x@example.org"))
    assert caught.value.key == "keycloak.external_method"


def test_identity_registered_meanwhile_is_a_clear_error() -> None:
    flow = make_flow()
    first = flow.callback("orcid", orcid_info())
    second = flow.callback("orcid", orcid_info())  # the same person, another tab
    assert isinstance(first, RegistrationRequired)
    assert isinstance(second, RegistrationRequired)
    assert isinstance(
        flow.complete_registration(first.token, {"email": "j@example.org"}), Registered
    )
    before = snapshot(flow.accounts)
    with pytest.raises(ConflictError) as caught:
        flow.complete_registration(second.token, {"email": "j2@example.org"})
    assert caught.value.code == "accounts.identity_linked_elsewhere"
    assert snapshot(flow.accounts) == before


# --- usernames ------------------------------------------------------------------------------------


def test_provider_username_is_cleaned_and_suffixed_on_collision() -> None:
    flow = make_flow()
    first = registered(flow, jane(preferred_username="jane.doe@example.org"))
    assert first.username == "jane_doe"
    second = registered(
        flow, info("keycloak", "kc-2", email="j2@example.org", preferred_username="Jane_Doe")
    )
    assert second.username == "Jane_Doe2"
    third = registered(
        flow, info("keycloak", "kc-3", email="j3@example.org", preferred_username="jane_doe")
    )
    assert third.username == "jane_doe3"
    nameless = registered(
        flow, info("keycloak", "kc-4", email="j4@example.org", preferred_username="42")
    )
    assert nameless.username is None  # nothing acceptable left, and usernames are optional


def test_username_from_an_opal_style_claim_mapping() -> None:
    flow = make_flow()
    user = registered(
        flow,
        info(
            "keycloak",
            "kc-9",
            email="x@example.org",
            email_verified=True,
            uid="xavier",
            _username_claim="uid",
        ),
    )
    assert user.username == "xavier"


def test_username_collision_ask_mode_asks_the_person() -> None:
    flow = make_flow(signup=SignupPolicy(username_collision="ask"))
    registered(flow)
    outcome = flow.callback(
        "keycloak",
        info(
            "keycloak",
            "kc-2",
            email="j2@example.org",
            email_verified=True,
            preferred_username="jdoe",
        ),
    )
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.problems == {"profile.username": "taken"}
    assert "profile.username" not in outcome.prefill
    with pytest.raises(RequestError) as caught:
        flow.complete_registration(outcome.token, {"profile.username": "jdoe"})
    assert caught.value.code == "accounts.username_taken"
    done = flow.complete_registration(outcome.token, {"profile.username": "jdoe_two"})
    assert isinstance(done, Registered)
    assert done.user.username == "jdoe_two"


def test_invalid_provider_email_is_asked_again() -> None:
    flow = make_flow()
    outcome = flow.callback("keycloak", jane(email="not an address"))
    assert isinstance(outcome, RegistrationRequired)
    assert outcome.problems == {"email": "invalid"}
    assert outcome.missing == ("email",)
    done = flow.complete_registration(outcome.token, {"email": "jane@example.org"})
    assert isinstance(done, Registered)
    assert done.user.email_verified is False


# --- existing accounts with the same e-mail ----------------------------------------------------


def test_unverified_email_of_an_existing_account_requires_confirmation() -> None:
    flow = make_flow()
    user = registered(flow)
    before = snapshot(flow.accounts)
    outcome = flow.callback(
        "social",
        info("social", "s-1", email="JANE@example.org", email_verified=False),
        tokens=tokens("s-at"),
    )
    assert isinstance(outcome, ConfirmLinkRequired)
    assert outcome.user_id == user.id
    assert outcome.email == "JANE@example.org"
    assert snapshot(flow.accounts) == before  # never linked silently
    with pytest.raises(RequestError) as caught:
        flow.confirm_link(outcome.token, user_id="someone-else")
    assert caught.value.code == "accounts.link_user_mismatch"
    linked = flow.confirm_link(outcome.token, user_id=user.id)
    assert isinstance(linked, Linked)
    with flow.accounts.transaction() as tx:
        identity = tx.get_identity("social", "s-1")
        assert identity is not None
        assert identity.user_id == user.id
    social_tokens = flow.provider_tokens(user.id, "social")
    assert social_tokens is not None
    assert social_tokens.access_token == "s-at"
    assert isinstance(
        flow.callback("social", info("social", "s-1", email="jane@example.org")), SignedIn
    )


def test_verified_email_links_automatically_to_a_verified_account() -> None:
    flow = make_flow()
    user = registered(flow)
    seen = Recorder(flow)
    outcome = flow.callback(
        "github", info("github", "583231", email="jane@example.org", email_verified=True)
    )
    assert isinstance(outcome, SignedIn)
    assert outcome.linked is True
    assert outcome.user.id == user.id
    assert seen.kinds == ["info_received", "setup", "linked", "signed_in"]


def test_vouched_email_never_links_to_an_unverified_account() -> None:
    flow = make_flow()
    with flow.accounts.transaction() as tx:  # pre-registered look-alike, never confirmed
        tx.create_user(User(id="squatter", email="jane@example.org", has_password=True))
    outcome = flow.callback("keycloak", jane())
    assert isinstance(outcome, ConfirmLinkRequired)
    assert count(flow.accounts, "identities") == 0
    relaxed = make_flow(signup=SignupPolicy(auto_link_requires_verified_account=False))
    with relaxed.accounts.transaction() as tx:
        tx.create_user(User(id="old", email="jane@example.org", has_password=True))
    assert isinstance(relaxed.callback("keycloak", jane()), SignedIn)


@pytest.mark.parametrize(
    ("email", "domains", "linked"),
    [
        ("jane@example.org", (), True),
        ("jane@example.org", ("example.org",), True),
        ("jane@cs.example.org", ("example.org",), True),
        ("jane@example.org.evil.com", ("example.org",), False),
        ("jane@other.org", ("example.org",), False),
    ],
)
def test_trusted_provider_vouches_for_its_domains(
    email: str, domains: tuple[str, ...], linked: bool
) -> None:
    trusted = RemoteApp(
        name="inst", title="Inst", email_trusted=True, email_trusted_domains=domains
    )
    flow = make_flow(providers=[KEYCLOAK, trusted])
    registered(flow, jane(email=email))
    outcome = flow.callback("inst", info("inst", "i-1", email=email))  # no email_verified claim
    assert isinstance(outcome, SignedIn if linked else ConfirmLinkRequired)


def test_confirm_link_token_expires(clock: Any) -> None:
    flow = make_flow(clock=clock)
    user = registered(flow)
    outcome = flow.callback("social", info("social", "s-1", email="jane@example.org"))
    assert isinstance(outcome, ConfirmLinkRequired)
    clock.advance(SignupPolicy().pending_ttl + 1)
    with pytest.raises(RequestError) as caught:
        flow.confirm_link(outcome.token, user_id=user.id)
    assert caught.value.code == "accounts.pending_expired"
    assert count(flow.accounts, "identities") == 1


def test_registration_with_an_email_of_an_existing_account_asks_to_confirm() -> None:
    flow = make_flow()
    user = registered(flow)
    outcome = flow.callback("orcid", orcid_info())
    assert isinstance(outcome, RegistrationRequired)
    confirm = flow.complete_registration(outcome.token, {"email": "jane@example.org"})
    assert isinstance(confirm, ConfirmLinkRequired)
    assert confirm.user_id == user.id
    assert count(flow.accounts, "users") == 1
    assert isinstance(flow.confirm_link(confirm.token, user_id=user.id), Linked)


# --- linking and disconnecting -------------------------------------------------------------------


def test_signed_in_person_links_another_provider() -> None:
    flow = make_flow()
    user = registered(flow)
    seen = Recorder(flow)
    outcome = flow.callback("orcid", orcid_info(), tokens=tokens("o-at"), current_user_id=user.id)
    assert isinstance(outcome, Linked)
    assert outcome.already_linked is False
    assert seen.kinds == ["info_received", "setup", "linked"]
    again = flow.callback("orcid", orcid_info(), tokens=tokens("o-at-2"), current_user_id=user.id)
    assert isinstance(again, Linked)
    assert again.already_linked is True
    refreshed = flow.provider_tokens(user.id, "orcid")
    assert refreshed is not None
    assert refreshed.access_token == "o-at-2"


def test_identity_of_another_user_cannot_be_linked() -> None:
    flow = make_flow()
    registered(flow)
    bob = registered(flow, info("keycloak", "kc-bob", email="bob@example.org", email_verified=True))
    before = snapshot(flow.accounts)
    with pytest.raises(ConflictError) as caught:
        flow.callback("keycloak", jane(), current_user_id=bob.id)
    assert caught.value.code == "accounts.identity_linked_elsewhere"
    assert caught.value.what == "identity"
    assert snapshot(flow.accounts) == before


def test_second_identity_at_the_same_provider_is_refused() -> None:
    flow = make_flow()
    user = registered(flow)
    before = snapshot(flow.accounts)
    with pytest.raises(ConflictError) as caught:
        flow.callback("keycloak", info("keycloak", "kc-other"), current_user_id=user.id)
    assert caught.value.code == "accounts.provider_already_linked"
    assert snapshot(flow.accounts) == before


def test_linking_to_an_unknown_account_is_refused() -> None:
    flow = make_flow()
    with pytest.raises(RequestError) as caught:
        flow.callback("orcid", orcid_info(), current_user_id="ghost")
    assert caught.value.code == "accounts.user_unknown"
    assert count(flow.accounts, "identities") == 0


def test_disconnect_the_last_way_to_sign_in_is_refused() -> None:
    flow = make_flow()
    user = registered(flow)
    before = snapshot(flow.accounts)
    revoked: list[tuple[str, str]] = []
    with pytest.raises(RequestError) as caught:
        flow.disconnect(
            user.id,
            "keycloak",
            revoke=lambda t, token_type_hint: revoked.append((t, token_type_hint)),
        )
    assert caught.value.code == "accounts.last_sign_in_method"
    assert snapshot(flow.accounts) == before
    assert revoked == []


def test_disconnect_removes_everything_and_revokes() -> None:
    flow = make_flow()
    user = registered(flow)
    flow.callback("orcid", orcid_info(), tokens=tokens("o-at", "o-rt"), current_user_id=user.id)
    seen = Recorder(flow)
    revoked: list[tuple[str, str]] = []
    outcome = flow.disconnect(
        user.id, "orcid", revoke=lambda t, token_type_hint: revoked.append((t, token_type_hint))
    )
    assert isinstance(outcome, Disconnected)
    assert outcome.external_ids == (ORCID_ID,)
    assert outcome.revoked is True
    assert revoked == [("o-rt", "refresh_token"), ("o-at", "access_token")]
    with flow.accounts.transaction() as tx:
        assert tx.get_identity("orcid", ORCID_ID) is None
        assert tx.get_remote_account(user.id, "orcid") is None
        assert tx.remote_tokens_of(user.id, "orcid") == []
        assert tx.get_identity("keycloak", "kc-jane") is not None
    assert seen.kinds == ["disconnected"]
    assert seen.events[0].data["revoked"] is True
    with pytest.raises(RequestError) as caught:
        flow.disconnect(user.id, "orcid")
    assert caught.value.code == "accounts.not_linked"


def test_disconnect_allowed_with_a_password_and_revocation_failure_is_reported() -> None:
    flow = make_flow()
    user = registered(flow)
    with flow.accounts.transaction() as tx:
        tx.update_user(User(**{**_fields(user), "has_password": True}))

    def revoke(token: str, *, token_type_hint: str) -> None:
        raise ProviderHTTPError("revocation failed", status=503)

    outcome = flow.disconnect(user.id, "keycloak", revoke=revoke)
    assert outcome.revoked is False
    assert isinstance(outcome.revoke_error, ProviderHTTPError)
    assert count(flow.accounts, "identities") == 0
    assert count(flow.accounts, "remote_tokens") == 0
    assert count(flow.accounts, "users") == 1


def test_disconnect_unknown_user() -> None:
    flow = make_flow()
    with pytest.raises(RequestError) as caught:
        flow.disconnect("ghost", "keycloak")
    assert caught.value.code == "accounts.user_unknown"


def _fields(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "username": user.username,
        "active": user.active,
        "has_password": user.has_password,
        "profile": dict(user.profile),
        "prefs": dict(user.prefs),
        "created_at": user.created_at,
        "confirmed_at": user.confirmed_at,
    }


# --- denials --------------------------------------------------------------------------------------


def test_login_policy_denial_carries_a_reason_and_creates_nothing() -> None:
    flow = make_flow(login_policies=[EmailDomainPolicy(allow=["example.org"])])
    outcome = flow.callback("keycloak", jane(email="jane@gmail.com"))
    assert isinstance(outcome, Denied)
    assert outcome.code == "accounts.email_domain_denied"
    assert "may not sign in" in outcome.reason
    assert count(flow.accounts, "users") == 0
    assert isinstance(flow.callback("keycloak", jane(email="jane@lab.example.org")), Registered)


def test_policy_checks_the_typed_email_at_registration() -> None:
    flow = make_flow(login_policies=[EmailDomainPolicy(deny=["gmail.com"])])
    outcome = flow.callback("orcid", orcid_info())
    assert isinstance(outcome, RegistrationRequired)  # no e-mail yet: decided at registration
    denied = flow.complete_registration(outcome.token, {"email": "josiah@gmail.com"})
    assert isinstance(denied, Denied)
    assert denied.code == "accounts.email_domain_denied"
    assert count(flow.accounts, "users") == 0


def test_policy_applies_to_existing_accounts_too() -> None:
    flow = make_flow()
    registered(flow)
    strict = make_flow(
        store=flow.accounts,
        login_policies=[ClaimPolicy(claim="groups", any_of=["staff"], reason="Staff only.")],
    )
    outcome = strict.callback("keycloak", jane(groups=["students"]))
    assert isinstance(outcome, Denied)
    assert outcome.reason == "Staff only."
    assert isinstance(strict.callback("keycloak", jane(groups=["staff"])), SignedIn)


def test_link_only_disabled_signup_and_inactive_are_denied() -> None:
    link_only = RemoteApp(name="gitlab", title="GitLab", link_only=True)
    disabled = RemoteApp(name="old", title="Old", enabled=False)
    flow = make_flow(providers=[KEYCLOAK, link_only, disabled])
    user = registered(flow)
    outcome = flow.callback(
        "gitlab", info("gitlab", "g-1", email="jane@example.org", email_verified=True)
    )
    assert isinstance(outcome, Denied)
    assert outcome.code == "accounts.link_only"
    assert isinstance(
        flow.callback("gitlab", info("gitlab", "g-1"), current_user_id=user.id), Linked
    )
    assert isinstance(flow.callback("gitlab", info("gitlab", "g-1")), Denied)  # still link-only
    off = flow.callback("old", info("old", "o-1", email="x@example.org"))
    assert isinstance(off, Denied)
    assert off.code == "accounts.provider_disabled"
    closed = make_flow(signup=SignupPolicy(allow_signup=False))
    refused = closed.callback("keycloak", jane())
    assert isinstance(refused, Denied)
    assert refused.code == "accounts.signup_disabled"
    with flow.accounts.transaction() as tx:
        tx.update_user(User(**{**_fields(user), "active": False}))
    inactive = flow.callback("keycloak", jane())
    assert isinstance(inactive, Denied)
    assert inactive.code == "accounts.user_inactive"


def test_registry_edits_apply_at_once() -> None:
    registry = ProviderRegistry([KEYCLOAK])
    flow = make_flow(providers=registry)
    registered(flow)
    registry.disable("keycloak")
    outcome = flow.callback("keycloak", jane())
    assert isinstance(outcome, Denied)
    assert outcome.code == "accounts.provider_disabled"


# --- hooks ---------------------------------------------------------------------------------------


def test_setup_hook_fills_extra_data_and_runs_once() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def setup(
        provider: ProviderSettings, account: AccountSetup, resp: dict[str, Any]
    ) -> dict[str, Any]:
        calls.append((provider.name, account.user.email or "", resp))
        return {"login": account.info.raw["preferred_username"]}

    app = KEYCLOAK.evolve(hooks=Hooks(setup=setup))
    flow = make_flow(providers=[app])
    user = registered(flow)
    flow.callback("keycloak", jane())
    assert len(calls) == 1
    assert calls[0][0] == "keycloak"
    assert calls[0][2]["access_token"] == "access-1"
    with flow.accounts.transaction() as tx:
        account = tx.get_remote_account(user.id, "keycloak")
    assert account is not None
    assert account.extra_data["login"] == "jdoe"


def test_failing_setup_hook_leaves_nothing_behind() -> None:
    def setup(provider: Any, account: Any, resp: Any) -> None:
        raise RuntimeError("webhook service down")

    flow = make_flow(providers=[KEYCLOAK.evolve(hooks=Hooks(setup=setup))])
    seen = Recorder(flow)
    before = snapshot(flow.accounts)
    with pytest.raises(AuthkitError) as caught:
        flow.callback("keycloak", jane(), tokens=tokens())
    assert caught.value.code == "accounts.setup_hook_failed"
    assert snapshot(flow.accounts) == before
    assert seen.kinds == ["info_received"]  # no "registered": nothing was committed


def test_invenio_handler_strings_mean_built_in() -> None:
    app = KEYCLOAK.evolve(
        hooks=Hooks(
            setup="invenio_oauthclient.contrib.keycloak.handlers:setup_handler",
            disconnect="invenio_oauthclient.contrib.keycloak.handlers:disconnect_handler",
        )
    )
    flow = make_flow(providers=[app, ORCID])
    user = registered(flow)
    flow.callback("orcid", orcid_info(), current_user_id=user.id)
    assert isinstance(flow.disconnect(user.id, "keycloak"), Disconnected)


def test_disconnect_hook_is_called_before_removal() -> None:
    seen: list[Any] = []

    def disconnect(provider: ProviderSettings, user: User, account: Any) -> None:
        seen.append((provider.name, user.id, dict(account.extra_data)))

    flow = make_flow(providers=[KEYCLOAK, ORCID.evolve(hooks=Hooks(disconnect=disconnect))])
    user = registered(flow)
    flow.callback("orcid", orcid_info(), current_user_id=user.id)
    flow.disconnect(user.id, "orcid")
    assert seen == [("orcid", user.id, {"external_id": ORCID_ID, "external_method": "orcid"})]


# --- SAML ----------------------------------------------------------------------------------------


def test_saml_identity_signs_up_with_the_idps_auto_confirm() -> None:
    idp = SAMLIdPConfig(name="university", title="University", auto_confirm=True)
    settings = ProviderSettings.from_saml_idp(
        idp, email_trusted=True, email_trusted_domains=("uni.example",)
    )
    flow = make_flow(providers=[settings, KEYCLOAK])
    mapped = MappedIdentity(
        email="ada@uni.example",
        given_name="Ada",
        family_name="Lovelace",
        full_name="Ada Lovelace",
        username="university-ada",
        external_id="ada@uni.example",
        affiliations=("staff@uni.example", "member@uni.example"),
        attributes={"urn:oid:1.3.6.1.4.1.5923.1.1.1.9": ("staff@uni.example",)},
    )
    outcome = flow.callback("university", AccountInfo.from_saml(mapped, provider="university"))
    assert isinstance(outcome, Registered)
    user = outcome.user
    assert user.email_verified is True  # trusted for its domain
    assert user.confirmed_at is not None
    assert user.username == "university-ada"
    assert user.profile == {
        "full_name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "affiliations": ["staff@uni.example", "member@uni.example"],
    }
    assert isinstance(
        flow.callback("university", AccountInfo.from_saml(mapped, provider="university")), SignedIn
    )


# --- configuration -------------------------------------------------------------------------------


def test_flow_configuration_errors() -> None:
    with pytest.raises(InvalidSettingError):
        AccountFlow(
            accounts=MemoryAccountsStore(),
            state=MemoryStateStore(),
            providers=["keycloak"],  # type: ignore[list-item]
            cipher=TokenCipher([KEY]),
        )
    with pytest.raises(InvalidSettingError):
        make_flow(max_attempts=0)
    with pytest.raises(InvalidSettingError) as caught:
        SignupPolicy(username_collision="random")  # type: ignore[arg-type]
    assert caught.value.key == "SignupPolicy.username_collision"
    with pytest.raises(InvalidSettingError):
        SignupPolicy(required_fields=("email", "profile..x"))
    with pytest.raises(InvalidSettingError):
        SignupPolicy(pending_ttl=0)
    with pytest.raises(InvalidSettingError):
        SignupPolicy(username_pattern="(")
    with pytest.raises(InvalidSettingError):
        ProviderSettings(name="")
    with pytest.raises(InvalidSettingError):
        ProviderSettings(name="x", email_trusted_domains=("localhost",))


def test_provider_settings_from_a_remote_app() -> None:
    settings = ProviderSettings.from_remote_app(ORCID)
    assert settings.auto_confirm is False
    assert settings.send_register_msg is True
    assert settings.app is ORCID
    assert settings.vouches_for("a@example.org", email_verified=True)
    assert not settings.vouches_for("a@example.org", email_verified=False)
    gh = ProviderSettings.from_remote_app(GITHUB.evolve(signup_options=SignupOptions()))
    assert gh.auto_confirm is True
    assert gh.send_register_msg is False
    assert SOCIAL.name == "social"
