"""Needs, identities, permission checks and the signed session form of an identity."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from authkit.errors import InvalidSettingError, VerificationError
from authkit.groups import (
    GroupResolver,
    Identity,
    IdentitySerializer,
    Need,
    RoleNeed,
    SystemRoleNeed,
    UserNeed,
    identity_from,
)

KEY = "k" * 32
OLD_KEY = "o" * 40
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


# --- needs ---------------------------------------------------------------------------------------


def test_needs_are_typed_hashable_tuples() -> None:
    assert UserNeed(42) == Need("id", 42) == ("id", 42)
    assert RoleNeed("staff") == Need("role", "staff")
    assert SystemRoleNeed("authenticated_user") == ("system_role", "authenticated_user")
    assert RoleNeed("staff").method == "role"
    assert RoleNeed("staff").value == "staff"
    assert len({RoleNeed("a"), Need("role", "a"), ("role", "a")}) == 1
    assert Need("action", "records-read") != Need("role", "records-read")


# --- identities ----------------------------------------------------------------------------------


def test_identity_from_groups() -> None:
    identity = identity_from(7, ["staff", "editors"], provider="keycloak", fetched_at=NOW)
    assert identity.id == 7
    assert identity.provides == {UserNeed(7), RoleNeed("staff"), RoleNeed("editors")}
    assert identity.groups == {"staff", "editors"}
    assert identity.auth_provider == "keycloak"
    assert identity.groups_fetched_at == NOW


def test_identity_from_a_resolution_takes_provider_and_freshness() -> None:
    resolution = GroupResolver(provider="kc", claim="groups").resolve_detailed(
        {"groups": ["staff"]}, now=NOW
    )
    identity = identity_from("u-1", resolution, system_roles=["any_user", "authenticated_user"])
    assert identity.auth_provider == "kc"
    assert identity.groups_fetched_at == NOW
    assert identity.provides == {
        UserNeed("u-1"),
        RoleNeed("staff"),
        SystemRoleNeed("any_user"),
        SystemRoleNeed("authenticated_user"),
    }


def test_identity_from_extra_needs() -> None:
    identity = identity_from(1, [], needs=[Need("action", "superuser-access")])
    assert Need("action", "superuser-access") in identity.provides


def test_permission_checks() -> None:
    identity = identity_from(1, ["staff", "editors"])
    assert identity.provides_any([RoleNeed("admins"), RoleNeed("staff")])
    assert not identity.provides_any([RoleNeed("admins")])
    assert not identity.provides_any([])
    assert identity.provides_all([RoleNeed("staff"), UserNeed(1)])
    assert not identity.provides_all([RoleNeed("staff"), RoleNeed("admins")])
    assert identity.can(any_of=[RoleNeed("admins"), ("role", "editors")])
    assert not identity.can(any_of=[RoleNeed("admins")])
    assert identity.can(all_of=[RoleNeed("staff"), RoleNeed("editors")])
    assert identity.can(any_of=[RoleNeed("staff")], all_of=[UserNeed(1)])
    assert not identity.can(any_of=[RoleNeed("staff")], all_of=[UserNeed(2)])


def test_an_empty_permission_allows_no_one() -> None:
    assert not identity_from(1, ["staff"]).can()
    assert not identity_from(1, ["staff"]).can(any_of=[], all_of=[])


def test_groups_age() -> None:
    identity = identity_from(1, ["a"], fetched_at=NOW)
    assert identity.groups_age(NOW + timedelta(minutes=5)) == timedelta(minutes=5)
    assert identity_from(1, ["a"]).groups_age(NOW) is None


def test_identity_accepts_plain_tuples() -> None:
    identity = Identity(id=1, provides=[("role", "a"), ("id", 1)])
    assert identity.provides == {RoleNeed("a"), UserNeed(1)}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"id": None}, "Identity.id"),
        ({"id": ""}, "Identity.id"),
        ({"id": True}, "Identity.id"),
        ({"id": 1, "provides": [Need("role", 1.5)]}, "Identity.provides"),
        ({"id": 1, "provides": [Need("role", None)]}, "Identity.provides"),
        ({"id": 1, "provides": [Need("", "x")]}, "Identity.provides"),
        ({"id": 1, "provides": ["role"]}, "Identity.provides"),
        ({"id": 1, "provides": 5}, "Identity.provides"),
        ({"id": 1, "groups_fetched_at": datetime(2026, 1, 1)}, "Identity.groups_fetched_at"),
        ({"id": 1, "auth_provider": 3}, "Identity.auth_provider"),
    ],
)
def test_bad_identity_values(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        Identity(**kwargs)
    assert info.value.key == key


# --- serialisation -------------------------------------------------------------------------------


def make_identity(groups: int = 3) -> Identity:
    names = [f"group-{i:03d}" for i in range(groups)]
    return identity_from(
        42,
        names,
        provider="keycloak",
        fetched_at=NOW - timedelta(minutes=10),
        system_roles=["authenticated_user"],
    )


def test_round_trip_keeps_everything_and_adds_issued_at() -> None:
    serializer = IdentitySerializer(keys=KEY)
    identity = make_identity()
    data = serializer.dumps(identity, now=NOW)
    loaded = serializer.loads(data, now=NOW + timedelta(hours=1))
    assert loaded.id == 42
    assert loaded.provides == identity.provides
    assert loaded.auth_provider == "keycloak"
    assert loaded.groups_fetched_at == identity.groups_fetched_at
    assert loaded.issued_at == NOW
    assert loaded == Identity(
        id=42,
        provides=identity.provides,
        auth_provider="keycloak",
        groups_fetched_at=identity.groups_fetched_at,
        issued_at=NOW,
    )


def test_round_trip_of_a_string_id_without_optional_fields() -> None:
    serializer = IdentitySerializer(keys=KEY)
    identity = Identity(id="user-1", provides=[UserNeed("user-1")])
    loaded = serializer.loads(serializer.dumps(identity, now=NOW), now=NOW)
    assert (loaded.id, loaded.provides, loaded.auth_provider, loaded.groups_fetched_at) == (
        "user-1",
        identity.provides,
        None,
        None,
    )


def test_serialised_form_is_compact_and_cookie_safe() -> None:
    serializer = IdentitySerializer(keys=KEY)
    data = serializer.dumps(make_identity(50), now=NOW)
    plain = json.dumps([list(n) for n in make_identity(50).provides])
    assert data.startswith("i1z.")  # 50 similar names compress well
    assert len(data) < len(plain) / 2
    assert data.isascii()
    assert all(c.isalnum() or c in "-_." for c in data)
    small = serializer.dumps(Identity(id=1, provides=[UserNeed(1)]), now=NOW)
    assert small.startswith("i1.")


def test_same_identity_same_string() -> None:
    serializer = IdentitySerializer(keys=KEY)
    assert serializer.dumps(make_identity(), now=NOW) == serializer.dumps(make_identity(), now=NOW)


def forge(data: str, change: Any) -> str:
    """Decode the payload, change it, re-encode it (keeping the old signature)."""
    kind, body, signature = data.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    if kind == "i1z":
        raw = zlib.decompress(raw)
    payload = json.loads(raw)
    change(payload)
    encoded = json.dumps(payload, separators=(",", ":")).encode()
    return "i1." + base64.urlsafe_b64encode(encoded).rstrip(b"=").decode() + "." + signature


def test_granting_oneself_a_group_breaks_the_signature() -> None:
    serializer = IdentitySerializer(keys=KEY)
    data = serializer.dumps(make_identity(), now=NOW)
    forged = forge(data, lambda p: p["n"]["role"].append("admins"))
    with pytest.raises(VerificationError) as info:
        serializer.loads(forged, now=NOW)
    assert info.value.code == "identity.signature_invalid"
    assert "admins" not in info.value.message


def test_any_changed_character_is_refused() -> None:
    serializer = IdentitySerializer(keys=KEY)
    data = serializer.dumps(make_identity(), now=NOW)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(data):
        if char == ".":
            continue
        for replacement in (alphabet[(alphabet.index(char) + 1) % 64], alphabet[0]):
            if replacement == char:
                continue
            changed = data[:index] + replacement + data[index + 1 :]
            with pytest.raises(VerificationError) as info:
                serializer.loads(changed, now=NOW)
            assert info.value.code in ("identity.signature_invalid", "identity.malformed")


def test_another_key_or_salt_does_not_verify() -> None:
    data = IdentitySerializer(keys=KEY).dumps(make_identity(), now=NOW)
    with pytest.raises(VerificationError) as info:
        IdentitySerializer(keys="x" * 32).loads(data, now=NOW)
    assert info.value.code == "identity.signature_invalid"
    with pytest.raises(VerificationError):
        IdentitySerializer(keys=KEY, salt="another.purpose").loads(data, now=NOW)


def test_key_rotation_first_signs_all_verify() -> None:
    old = IdentitySerializer(keys=[OLD_KEY])
    rotated = IdentitySerializer(keys=[KEY, OLD_KEY])
    issued_before = old.dumps(make_identity(), now=NOW)
    assert rotated.loads(issued_before, now=NOW).id == 42
    issued_after = rotated.dumps(make_identity(), now=NOW)
    assert IdentitySerializer(keys=KEY).loads(issued_after, now=NOW).id == 42
    with pytest.raises(VerificationError) as info:
        old.loads(issued_after, now=NOW)
    assert info.value.code == "identity.signature_invalid"
    # once the old key is dropped, sessions it signed stop verifying
    with pytest.raises(VerificationError):
        IdentitySerializer(keys=KEY).loads(issued_before, now=NOW)


def test_bytes_keys_and_data() -> None:
    serializer = IdentitySerializer(keys=[b"\x00" * 32])
    data = serializer.dumps(make_identity(), now=NOW)
    assert serializer.loads(data.encode(), now=NOW).id == 42


def test_expiry_with_default_and_explicit_max_age() -> None:
    serializer = IdentitySerializer(keys=KEY, max_age=3600)
    data = serializer.dumps(make_identity(), now=NOW)
    assert serializer.loads(data, now=NOW + timedelta(seconds=3600)).id == 42
    with pytest.raises(VerificationError) as info:
        serializer.loads(data, now=NOW + timedelta(seconds=3601))
    assert info.value.code == "identity.expired"
    with pytest.raises(VerificationError) as info:
        serializer.loads(data, max_age=60, now=NOW + timedelta(seconds=61))
    assert info.value.code == "identity.expired"
    assert serializer.loads(data, max_age=7200, now=NOW + timedelta(seconds=7000)).id == 42


def test_issued_in_the_future_beyond_leeway() -> None:
    serializer = IdentitySerializer(keys=KEY, leeway=30)
    data = serializer.dumps(make_identity(), now=NOW)
    assert serializer.loads(data, now=NOW - timedelta(seconds=30)).id == 42
    with pytest.raises(VerificationError) as info:
        serializer.loads(data, now=NOW - timedelta(seconds=31))
    assert info.value.code == "identity.not_yet_valid"


def test_clock_is_used_without_now(clock: Any) -> None:
    serializer = IdentitySerializer(keys=KEY, max_age=60, clock=clock)
    data = serializer.dumps(make_identity())
    assert serializer.loads(data).issued_at == clock.now
    clock.advance(61)
    with pytest.raises(VerificationError) as info:
        serializer.loads(data)
    assert info.value.code == "identity.expired"


@pytest.mark.parametrize(
    "data",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c.d",
        "x1.e30.AAAA",
        "i1.e30.!!!!",
        "i1." + "A" * 70_000 + ".AAAA",
        b"\xff.\xfe.\xfd",
    ],
)
def test_malformed_data(data: str | bytes) -> None:
    with pytest.raises(VerificationError) as info:
        IdentitySerializer(keys=KEY).loads(data, now=NOW)
    assert info.value.code in ("identity.malformed", "identity.signature_invalid")


def sign(serializer: IdentitySerializer, kind: str, body: bytes) -> str:
    """Sign arbitrary content with the serializer's key, as a bug or a key holder could."""
    import hashlib
    import hmac

    derived = hmac.new(KEY.encode(), serializer.salt.encode(), hashlib.sha256).digest()
    signing_input = f"{kind}.{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}"
    signature = hmac.new(derived, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("i1", b"not json"),
        ("i1", b"[]"),
        ("i1", b'{"i": 1, "n": {}, "t": "yesterday"}'),
        ("i1", b'{"i": 1, "n": [], "t": 0}'),
        ("i1", b'{"i": 1, "n": {"role": "x"}, "t": 0}'),
        ("i1", b'{"i": 1, "n": {}, "t": 0, "g": "soon"}'),
        ("i1", b'{"i": null, "n": {}, "t": 0}'),
        ("i1", b'{"i": 1, "n": {"role": [1.5]}, "t": 0}'),
        ("i1z", b"not zlib"),
        ("i1z", zlib.compress(b" " * 100_000)),
    ],
)
def test_signed_but_malformed_content(kind: str, body: bytes) -> None:
    serializer = IdentitySerializer(keys=KEY, max_age=10**10)
    with pytest.raises(VerificationError) as info:
        serializer.loads(sign(serializer, kind, body), now=NOW)
    assert info.value.code == "identity.malformed"


def test_sign_helper_matches_the_serializer() -> None:
    serializer = IdentitySerializer(keys=KEY)
    body = b'{"i":1,"n":{"id":[1]},"t":%d}' % int(NOW.timestamp())
    assert serializer.loads(sign(serializer, "i1", body), now=NOW).provides == {UserNeed(1)}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"keys": []}, "IdentitySerializer.keys"),
        ({"keys": "short"}, "IdentitySerializer.keys[0]"),
        ({"keys": [KEY, "x" * 31]}, "IdentitySerializer.keys[1]"),
        ({"keys": [KEY, 5]}, "IdentitySerializer.keys[1]"),
        ({"keys": None}, "IdentitySerializer.keys"),
        ({"keys": KEY, "max_age": 0}, "IdentitySerializer.max_age"),
        ({"keys": KEY, "leeway": -1}, "IdentitySerializer.leeway"),
    ],
)
def test_bad_serializer_configuration(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(InvalidSettingError) as info:
        IdentitySerializer(**kwargs)
    assert info.value.key == key


def test_bad_max_age_at_loads() -> None:
    serializer = IdentitySerializer(keys=KEY)
    with pytest.raises(InvalidSettingError):
        serializer.loads(serializer.dumps(make_identity(), now=NOW), max_age=0, now=NOW)


def test_keys_are_not_in_repr() -> None:
    assert KEY not in repr(IdentitySerializer(keys=KEY))


def test_now_must_be_aware() -> None:
    serializer = IdentitySerializer(keys=KEY)
    with pytest.raises(InvalidSettingError):
        serializer.dumps(make_identity(), now=datetime(2026, 1, 1))
