"""Provider tokens encrypted at rest: Fernet, key rotation, re-encryption, sealed pending tokens."""

from __future__ import annotations

from typing import Any

import pytest
from accounts_kit import jane, make_flow, tokens

from authkit.accounts import Registered, TokenCipher, reencrypt_remote_tokens
from authkit.errors import InvalidSettingError, RequestError, VerificationError
from authkit.stores import MemoryAccountsStore, RemoteToken, User

OLD = TokenCipher.generate_key()
NEW = TokenCipher.generate_key()


def test_encrypt_decrypt() -> None:
    cipher = TokenCipher([OLD])
    sealed = cipher.encrypt("gho_secret")
    assert b"gho_secret" not in sealed
    assert cipher.decrypt(sealed) == b"gho_secret"
    assert cipher.encrypt(b"x", now=1_700_000_000) != cipher.encrypt(b"x", now=1_700_000_000)
    assert "key" in repr(cipher)
    assert OLD not in repr(cipher)


def test_first_key_encrypts_every_key_decrypts() -> None:
    old_ct = TokenCipher([OLD]).encrypt("t1")
    rotated = TokenCipher([NEW, OLD])
    assert rotated.decrypt(old_ct) == b"t1"
    new_ct = rotated.encrypt("t2")
    assert TokenCipher([NEW]).decrypt(new_ct) == b"t2"
    with pytest.raises(VerificationError) as caught:
        TokenCipher([OLD]).decrypt(new_ct)
    assert caught.value.code == "accounts.token_undecryptable"
    assert TokenCipher([NEW]).decrypt(rotated.rotate(old_ct)) == b"t1"


@pytest.mark.parametrize("ciphertext", [b"garbage", b"", "not-base64!"])
def test_undecryptable(ciphertext: Any) -> None:
    cipher = TokenCipher([OLD])
    with pytest.raises(VerificationError) as caught:
        cipher.decrypt(ciphertext)
    assert caught.value.code == "accounts.token_undecryptable"
    with pytest.raises(VerificationError):
        cipher.rotate(ciphertext if isinstance(ciphertext, bytes) else ciphertext.encode())


@pytest.mark.parametrize("keys", [[], ["short"], [b"x" * 44], [42]])
def test_bad_keys(keys: list[Any]) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        TokenCipher(keys)
    assert caught.value.key == "TokenCipher.keys"


def test_single_key_string_is_accepted() -> None:
    assert TokenCipher(OLD).decrypt(TokenCipher([OLD]).encrypt("a")) == b"a"  # type: ignore[arg-type]


def test_reencrypt_stored_tokens_then_drop_the_old_key() -> None:
    flow = make_flow(keys=(OLD,))
    outcome = flow.callback("keycloak", jane(), tokens=tokens("at", "rt"))
    assert isinstance(outcome, Registered)
    store = flow.accounts
    with store.transaction() as tx:
        tx.create_user(User(id="nobody"))
    rotated = TokenCipher([NEW, OLD])
    assert reencrypt_remote_tokens(store, rotated, [outcome.user.id, "nobody"]) == 2
    new_only = TokenCipher([NEW])
    with store.transaction() as tx:
        stored = tx.remote_tokens_of(outcome.user.id, "keycloak")
    assert sorted(new_only.decrypt(t.ciphertext) for t in stored) == [b"at", b"rt"]
    # a flow with only the new key reads them
    assert (
        make_flow(store=store, keys=(NEW,)).provider_tokens(outcome.user.id, "keycloak") is not None
    )


def test_reencrypt_refuses_unreadable_tokens_and_rolls_back() -> None:
    store = MemoryAccountsStore()
    with store.transaction() as tx:
        tx.create_user(User(id="u"))
        tx.put_remote_token(
            RemoteToken(
                user_id="u",
                provider="p",
                token_type="access",
                ciphertext=TokenCipher([OLD]).encrypt("a"),
            )
        )
        tx.put_remote_token(
            RemoteToken(user_id="u", provider="p", token_type="refresh", ciphertext=b"corrupt")
        )
        from authkit.stores import Identity

        tx.link_identity(Identity(provider="p", external_id="1", user_id="u"))
    with store.transaction() as tx:
        before = tx.remote_tokens_of("u", "p")
    with pytest.raises(VerificationError):
        reencrypt_remote_tokens(store, TokenCipher([NEW, OLD]), ["u"])
    with store.transaction() as tx:
        assert tx.remote_tokens_of("u", "p") == before


def test_sealed_payload_expires_and_resists_tampering() -> None:
    cipher = TokenCipher([OLD])
    token = cipher.seal({"i": "abc"}, now=1_000_000)
    assert cipher.unseal(token, ttl=60, now=1_000_059)["i"] == "abc"
    with pytest.raises(RequestError) as expired:
        cipher.unseal(token, ttl=60, now=1_000_061)
    assert expired.value.code == "accounts.pending_expired"
    for bad in (
        token[:-3],
        token.replace(token[20], "A" if token[20] != "A" else "B", 1),
        "x" * 5000,
    ):
        with pytest.raises(RequestError) as caught:
            cipher.unseal(bad, ttl=60, now=1_000_001)
        assert caught.value.code == "accounts.pending_invalid"
    # a provider token ciphertext is not a pending token (purpose check)
    stored = cipher.encrypt('{"i": "abc"}', now=1_000_000).decode()
    with pytest.raises(RequestError) as foreign:
        cipher.unseal(stored, ttl=60, now=1_000_001)
    assert foreign.value.code == "accounts.pending_invalid"
