"""PrecedenceMask: Invenio's masks read unchanged, sync modes, "not said" vs "said empty"."""

from __future__ import annotations

from typing import Any

import pytest

from authkit.accounts import UNSET, PrecedenceMask, ProviderSettings
from authkit.config import RemoteApp, from_invenio
from authkit.errors import InvalidSettingError, RequestError
from authkit.providers import keycloak, orcid

# The masks of the InvenioRDM documentation and of invenio-oauthclient's presets.
KEYCLOAK_DOCS_MASK = {"email": True, "profile": {"username": False, "full_name": False}}
INVENIO_HELPER_MASK = {
    "email": True,
    "password": False,
    "profile": {"username": False, "full_name": False},
}
ORCID_MASK = {"email": False}

KEYCLOAK_INFO = {
    "email": "jane@example.org",
    "profile": {"username": "jdoe", "full_name": "Jane Doe"},
}


def test_invenio_keycloak_mask_provider_email_wins_user_profile_wins() -> None:
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    merged = mask.merge(
        provider=KEYCLOAK_INFO,
        user_input={"profile": {"username": "jane", "full_name": "Jane Q. Doe"}},
    )
    assert merged == {
        "email": "jane@example.org",
        "profile": {"username": "jane", "full_name": "Jane Q. Doe"},
    }


def test_invenio_keycloak_mask_provider_values_prefill_user_fields() -> None:
    merged = PrecedenceMask(KEYCLOAK_DOCS_MASK).merge(provider=KEYCLOAK_INFO, user_input={})
    assert merged == KEYCLOAK_INFO


def test_invenio_keycloak_mask_refuses_user_email() -> None:
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    with pytest.raises(RequestError) as caught:
        mask.merge(provider=KEYCLOAK_INFO, user_input={"email": "mallory@example.org"})
    assert caught.value.code == "accounts.field_provider_owned"
    assert "email" in caught.value.message


def test_resubmitting_the_provider_value_is_not_an_override() -> None:
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    merged = mask.merge(provider=KEYCLOAK_INFO, user_input={"email": "jane@example.org"})
    assert merged["email"] == "jane@example.org"


def test_invenio_settings_helper_mask_with_password_false() -> None:
    mask = PrecedenceMask(INVENIO_HELPER_MASK)
    assert mask.mode_of("password") == "user"
    assert mask.mode_of("email") == "import"
    assert mask.mode_of("profile.username") == "user"
    assert mask.mode_of("profile.affiliations") == "import"  # omitted: the provider's
    merged = mask.merge(provider=KEYCLOAK_INFO, user_input={"password": "s3cret"})
    assert merged["password"] == "s3cret"


def test_orcid_mask_email_is_the_persons() -> None:
    mask = PrecedenceMask(ORCID_MASK)
    provider = {"profile": {"full_name": "Josiah Carberry"}}  # ORCID gives no e-mail
    assert mask.required_user_fields(provider) == ("email",)
    merged = mask.merge(provider=provider, user_input={"email": "josiah@example.org"})
    assert merged == {"email": "josiah@example.org", "profile": {"full_name": "Josiah Carberry"}}
    with pytest.raises(RequestError) as caught:  # full_name omitted: the provider owns it
        mask.merge(provider=provider, user_input={"profile": {"full_name": "Someone Else"}})
    assert caught.value.code == "accounts.field_provider_owned"


def test_presets_masks_read_unchanged() -> None:
    assert ProviderSettings.from_remote_app(
        from_invenio("orcid", orcid.REMOTE_APP)
    ).precedence_mask == PrecedenceMask(ORCID_MASK)
    helper = keycloak.KeycloakSettingsHelper(
        title="KC", description="", base_url="https://kc.example.org", realm="r"
    )
    settings = ProviderSettings.from_remote_app(from_invenio("keycloak", helper.remote_app))
    assert settings.precedence_mask == PrecedenceMask(INVENIO_HELPER_MASK)
    assert settings.precedence_mask.to_dict() == INVENIO_HELPER_MASK


def test_default_mask_is_invenios_email_true() -> None:
    mask = PrecedenceMask()
    assert mask.to_dict() == {"email": True}
    assert mask.mode_of("email") == "import"
    assert mask.mode_of("profile.full_name") == "import"


def test_true_or_omitted_takes_provider_value_when_it_has_one() -> None:
    mask = PrecedenceMask({"email": True})
    merged = mask.merge(
        provider={"profile": {"full_name": "Jane"}},
        user_input={"profile": {"given_name": "Jane"}, "email": "jane@example.org"},
    )
    # email: provider-owned but the provider did not say -> the person's input
    assert merged == {
        "email": "jane@example.org",
        "profile": {"full_name": "Jane", "given_name": "Jane"},
    }


def test_not_said_and_said_empty_differ_in_merge() -> None:
    mask = PrecedenceMask({"profile": {"full_name": True}})
    said_empty = mask.merge(provider={"profile": {"full_name": None}})
    not_said = mask.merge(provider={"profile": {}})
    unset = mask.merge(provider={"profile": {"full_name": UNSET}})
    assert said_empty == {"profile": {"full_name": None}}
    assert not_said == {"profile": {}}
    assert unset == not_said
    # said empty: the person may still fill it in
    filled = mask.merge(
        provider={"profile": {"full_name": ""}}, user_input={"profile": {"full_name": "J"}}
    )
    assert filled == {"profile": {"full_name": "J"}}


def test_not_said_and_said_empty_differ_in_sync() -> None:
    mask = PrecedenceMask({"profile": {"full_name": "force", "username": False}})
    current = {"email": "a@example.org", "profile": {"full_name": "Old", "username": "old"}}
    assert mask.sync(current=current, provider={"profile": {}}) == current
    assert mask.sync(current=current, provider={"profile": {"full_name": UNSET}}) == current
    cleared = mask.sync(current=current, provider={"profile": {"full_name": None}})
    assert cleared["profile"] == {"full_name": None, "username": "old"}
    renamed = mask.sync(
        current=current, provider={"profile": {"full_name": "New", "username": "new"}}
    )
    assert renamed["profile"] == {"full_name": "New", "username": "old"}  # username is the person's
    assert current["profile"]["full_name"] == "Old"  # not modified in place


def test_import_fields_are_not_synced_force_fields_are() -> None:
    mask = PrecedenceMask(
        {"email": True, "profile": {"full_name": "import", "affiliations": "force"}}
    )
    provider = {"email": "new@example.org", "profile": {"full_name": "N", "affiliations": ["x"]}}
    assert mask.force_fields(provider) == ("profile.affiliations",)
    synced = mask.sync(current={"email": "old@example.org", "profile": {}}, provider=provider)
    assert synced == {"email": "old@example.org", "profile": {"affiliations": ["x"]}}


def test_mode_on_a_group_applies_to_every_field_below() -> None:
    mask = PrecedenceMask({"profile": "force"})
    assert mask.mode_of("profile.full_name") == "force"
    assert mask.mode_of("profile.anything.deeper") == "force"
    assert mask.force_fields({"profile": {"full_name": "A", "given_name": "B"}, "email": "x"}) == (
        "profile.full_name",
        "profile.given_name",
    )
    user_owned = PrecedenceMask({"profile": False})
    assert user_owned.merge(
        provider={"profile": {"full_name": "P"}}, user_input={"profile": {"full_name": "U"}}
    ) == {"profile": {"full_name": "U"}}


def test_force_is_provider_owned_at_signup() -> None:
    mask = PrecedenceMask({"profile": {"full_name": "force"}})
    assert mask.provider_owns("profile.full_name")
    with pytest.raises(RequestError) as caught:
        mask.merge(
            provider={"profile": {"full_name": "P"}}, user_input={"profile": {"full_name": "U"}}
        )
    assert caught.value.code == "accounts.field_provider_owned"


def test_user_input_single_value_for_a_group_is_refused() -> None:
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    with pytest.raises(RequestError) as caught:
        mask.merge(provider=KEYCLOAK_INFO, user_input={"profile": "jane"})
    assert caught.value.code == "accounts.field_invalid"


def test_inconsistent_provider_value_is_dropped_like_invenio() -> None:
    # Invenio's filter_user_info drops a value where the mask expects a group.
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    assert mask.merge(provider={"profile": "not a dict"}) == {}


def test_registration_fields_describe_the_form() -> None:
    mask = PrecedenceMask(KEYCLOAK_DOCS_MASK)
    fields = {
        f.name: f
        for f in mask.registration_fields(
            {"email": "jane@example.org", "profile": {"username": "jdoe"}},
            required=("email", "profile.username"),
        )
    }
    assert fields["email"].editable is False
    assert fields["email"].value == "jane@example.org"
    assert fields["email"].missing is False
    assert fields["profile.username"].editable is True  # the person's field, pre-filled
    assert fields["profile.username"].value == "jdoe"
    assert fields["profile.full_name"].value is UNSET
    assert fields["profile.full_name"].required is False
    orcid_fields = {f.name: f for f in PrecedenceMask(ORCID_MASK).registration_fields({})}
    assert orcid_fields["email"].missing is True
    assert orcid_fields["email"].editable is True


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"email": "yes"}, "precedence_mask.email"),
        ({"profile": {"username": 1}}, "precedence_mask.profile.username"),
        ({"profile": {"username": None}}, "precedence_mask.profile.username"),
        ({"": True}, "precedence_mask"),
    ],
)
def test_bad_masks_name_the_path(spec: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        PrecedenceMask(spec)
    assert caught.value.code == "config.invalid_value"
    assert caught.value.key == where


def test_bad_mask_on_a_remote_app_names_the_app() -> None:
    app = RemoteApp(name="kc", title="KC", precedence_mask={"email": "always"})
    with pytest.raises(InvalidSettingError) as caught:
        ProviderSettings.from_remote_app(app)
    assert caught.value.key == "RemoteApp('kc').precedence_mask.email"


def test_not_a_mapping() -> None:
    with pytest.raises(InvalidSettingError):
        PrecedenceMask(["email"])  # type: ignore[arg-type]


def test_masks_compare_by_meaning() -> None:
    assert PrecedenceMask({"email": True}) == PrecedenceMask({"email": "import"})
    assert PrecedenceMask({"email": False}) == PrecedenceMask({"email": "user"})
    assert PrecedenceMask({"email": True}) != PrecedenceMask({"email": "force"})
    assert "email" in repr(PrecedenceMask({"email": "force"}))
