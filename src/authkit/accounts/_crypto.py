"""Provider tokens encrypted at rest, with key rotation.

Access and refresh tokens of a provider are credentials: a copy of the database must not be a
copy of every person's GitHub or ORCID access. :class:`TokenCipher` encrypts them with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) before they reach the accounts store, and
decrypts them when the application needs them (to call the provider's API, or to revoke them
when a person disconnects).

Rotation uses :class:`~cryptography.fernet.MultiFernet`: the *first* key encrypts, *every* key
decrypts. To rotate, put a new key first and keep the old ones; then re-encrypt the stored
tokens with :func:`reencrypt_remote_tokens`; then drop the old key.

The same cipher seals the pending-registration tokens handed to the browser
(:meth:`TokenCipher.seal`): integrity-protected, timestamped and unguessable.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from authkit.errors import InvalidSettingError, RequestError, VerificationError
from authkit.stores import AccountsStore

__all__ = ["ProviderTokens", "TokenCipher", "reencrypt_remote_tokens"]

_SEAL_PURPOSE = "authkit.accounts.pending"


def _fernet(key: Any, index: int) -> Fernet:
    if isinstance(key, str):
        key = key.encode("ascii", "replace")
    if not isinstance(key, bytes):
        raise InvalidSettingError(
            f"key {index} is a {type(key).__name__}, expected a Fernet key (url-safe base64, "
            "32 bytes)",
            key="TokenCipher.keys",
        )
    try:
        return Fernet(key)
    except (ValueError, binascii.Error) as exc:
        raise InvalidSettingError(
            f"key {index} is not a Fernet key (url-safe base64 of 32 bytes)",
            key="TokenCipher.keys",
            hint="create one with TokenCipher.generate_key()",
        ) from exc


class TokenCipher:
    """Encrypts provider tokens for storage; the first key encrypts, all keys decrypt.

    Args:
        keys: Fernet keys, newest first (``TokenCipher.generate_key()`` makes one). Keep them
            secret and out of the database.

    Raises:
        InvalidSettingError: No key, or a value that is not a Fernet key
            (``config.invalid_value``).
    """

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if isinstance(keys, str | bytes):
            keys = [keys]
        if not keys:
            raise InvalidSettingError("at least one key is required", key="TokenCipher.keys")
        self._fernets = [_fernet(k, i) for i, k in enumerate(keys)]
        self._multi = MultiFernet(self._fernets)

    def __repr__(self) -> str:
        return f"TokenCipher(<{len(self._fernets)} key(s)>)"

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key."""
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, plaintext: str | bytes, *, now: float | None = None) -> bytes:
        """Encrypt ``plaintext`` with the first key."""
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        if now is None:
            return self._multi.encrypt(data)
        return self._multi.encrypt_at_time(data, int(now))

    def decrypt(self, ciphertext: bytes | str) -> bytes:
        """Decrypt with whichever key encrypted it.

        Raises:
            VerificationError: ``accounts.token_undecryptable`` — altered, or encrypted with a
                key this cipher no longer has.
        """
        try:
            return self._multi.decrypt(ciphertext)
        except (InvalidToken, TypeError, ValueError) as exc:
            raise VerificationError(
                "a stored provider token cannot be decrypted with the configured keys",
                code="accounts.token_undecryptable",
                hint="was the key that encrypted it removed from the cipher's keys?",
            ) from exc

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt ``ciphertext`` with the first key (its timestamp is kept).

        Raises:
            VerificationError: ``accounts.token_undecryptable``.
        """
        try:
            return self._multi.rotate(ciphertext)
        except (InvalidToken, TypeError, ValueError) as exc:
            raise VerificationError(
                "a stored provider token cannot be decrypted with the configured keys",
                code="accounts.token_undecryptable",
            ) from exc

    # --- sealed JSON (pending-registration tokens) ---------------------------------------------

    def seal(self, payload: Mapping[str, Any], *, now: float) -> str:
        """Encrypt and authenticate a small JSON payload, stamped with ``now``.

        The result is URL-safe text; only this cipher's keys can read or forge one.
        """
        body = json.dumps({"p": _SEAL_PURPOSE, "d": dict(payload)}, separators=(",", ":"))
        return self.encrypt(body, now=now).decode("ascii")

    def unseal(self, token: str, *, ttl: float, now: float) -> dict[str, Any]:
        """Open a token made by :meth:`seal`, refusing it after ``ttl`` seconds.

        Raises:
            RequestError: ``accounts.pending_invalid`` (altered, truncated, not ours) or
                ``accounts.pending_expired``.
        """
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise _pending_invalid()
        raw = token.encode("ascii", "replace")
        try:
            issued = self._multi.extract_timestamp(raw)
        except (InvalidToken, TypeError, ValueError, binascii.Error) as exc:
            raise _pending_invalid() from exc
        if issued + ttl < now:
            raise RequestError(
                "this registration link has expired; sign in again to restart",
                code="accounts.pending_expired",
            )
        try:
            body = json.loads(self._multi.decrypt(raw))
        except (InvalidToken, ValueError) as exc:
            raise _pending_invalid() from exc
        if not isinstance(body, dict) or body.get("p") != _SEAL_PURPOSE:
            raise _pending_invalid()
        data = body.get("d")
        if not isinstance(data, dict):
            raise _pending_invalid()
        data["_issued"] = issued
        return data


def _pending_invalid() -> RequestError:
    return RequestError(
        "this registration link is not valid; sign in again to restart",
        code="accounts.pending_invalid",
    )


@attrs.frozen(kw_only=True)
class ProviderTokens:
    """A person's tokens at a provider, decrypted.

    Attributes:
        access_token: The access token.
        refresh_token: The refresh token, if one was issued.
        expires_at: When the access token expires, if the provider said.
    """

    access_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    expires_at: datetime | None = None


def reencrypt_remote_tokens(
    store: AccountsStore, cipher: TokenCipher, user_ids: Iterable[str]
) -> int:
    """Re-encrypt the stored provider tokens of ``user_ids`` with the cipher's first key.

    Run it after putting a new key first; once it has covered every user, the old keys can be
    dropped. Each user is one transaction, so the job can be interrupted and run again.

    Returns:
        How many tokens were re-encrypted.

    Raises:
        VerificationError: ``accounts.token_undecryptable`` for a token no key can read (that
            user's transaction is rolled back).
    """
    count = 0
    for user_id in user_ids:
        with store.transaction() as tx:
            providers = {i.provider for i in tx.identities_of(user_id)}
            for provider in sorted(providers):
                for token in tx.remote_tokens_of(user_id, provider):
                    rotated = cipher.rotate(token.ciphertext)
                    tx.put_remote_token(attrs.evolve(token, ciphertext=rotated))
                    count += 1
    return count
