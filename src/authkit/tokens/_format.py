"""The string format of personal access tokens, and its offline checks.

A token is one word, so a double click selects all of it and secret scanners can find it::

    ak_pat_<lookup id>_<secret><checksum>
    ak_pat_3kT9bQ2mXw7LpZ0a_Vq8rM1cY4nH6sJ2dF9gK0tB5wE7uA3zP0ZYxqo

- ``ak_`` is the site's prefix (configurable, lowercase letters and digits ending in ``_``),
  ``pat_`` says what kind of token it is;
- the *lookup id* (16 base62 characters, about 95 random bits) names the stored record — it
  is not secret, it lets the verifier find the record with one indexed read instead of hashing
  against every token;
- the *secret* (32 base62 characters, about 190 random bits) is what proves possession; only
  a hash of it is stored;
- the *checksum* (6 base62 characters) is the CRC32 of everything before it, as GitHub's
  tokens carry one: a typo, a truncated paste or a random string that merely looks like a
  token is rejected without touching the store, and a secret scanner can tell a real token
  from a look-alike with no false positives worth mentioning.

The checksum is not a security measure (anyone can compute it); the secret is.
"""

from __future__ import annotations

import re
import secrets
import string
import zlib

import attrs

from authkit.errors import InvalidSettingError, VerificationError

__all__ = ["ParsedToken", "TokenFormat"]

_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
_KIND = "pat_"
LOOKUP_ID_LENGTH = 16
SECRET_LENGTH = 32
CHECKSUM_LENGTH = 6
_MAX_INPUT = 512  # far above a real token; refuses to run a regex over megabytes of header
_PREFIX = re.compile(r"[a-z][a-z0-9]{0,15}_")


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, _ALPHABET[0])


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def checksum(body: str) -> str:
    """The CRC32 of ``body`` in 6 base62 characters (62**6 > 2**32)."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


@attrs.frozen
class ParsedToken:
    """A well-formed token, split into its lookup id and secret."""

    lookup_id: str
    secret: str = attrs.field(repr=False)


class TokenFormat:
    """Builds and parses token strings for one prefix.

    Args:
        prefix: The site's prefix, ``ak_`` by default: 1 to 16 lowercase letters and digits,
            starting with a letter, ending with ``_``.

    Raises:
        InvalidSettingError: ``prefix`` does not have that shape.
    """

    def __init__(self, prefix: str = "ak_") -> None:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise InvalidSettingError(
                f"expected 1 to 16 lowercase letters or digits followed by '_', got {prefix!r}",
                key="PersonalAccessTokens.prefix",
            )
        self.prefix = prefix
        self.head = prefix + _KIND
        body = (
            f"{re.escape(self.head)}([0-9A-Za-z]{{{LOOKUP_ID_LENGTH}}})_"
            f"([0-9A-Za-z]{{{SECRET_LENGTH}}})([0-9A-Za-z]{{{CHECKSUM_LENGTH}}})"
        )
        self._exact = re.compile(body)
        #: Finds tokens inside text (logs, source files) — for redaction and secret scanning.
        self.pattern = re.compile(
            rf"(?<![0-9A-Za-z_]){re.escape(self.head)}[0-9A-Za-z]{{{LOOKUP_ID_LENGTH}}}_"
            rf"[0-9A-Za-z]{{{SECRET_LENGTH + CHECKSUM_LENGTH}}}(?![0-9A-Za-z_])"
        )

    @staticmethod
    def new_lookup_id() -> str:
        """A fresh random lookup id."""
        return _random(LOOKUP_ID_LENGTH)

    @staticmethod
    def new_secret() -> str:
        """A fresh random secret."""
        return _random(SECRET_LENGTH)

    def format(self, lookup_id: str, secret: str) -> str:
        """The token string for ``lookup_id`` and ``secret``, checksum included."""
        body = f"{self.head}{lookup_id}_{secret}"
        return body + checksum(body)

    def parse(self, token: object) -> ParsedToken:
        """Split a presented token, checking its shape and checksum (no store involved).

        Surrounding white space (a trailing newline from a file) is ignored.

        Raises:
            VerificationError: ``pat.malformed`` when it is not a string of this format (wrong
                prefix, length or characters); ``pat.checksum_invalid`` when the shape is right
                but the checksum does not match (a typo or a made-up token).
        """
        if not isinstance(token, str) or len(token) > _MAX_INPUT:
            raise VerificationError("not a personal access token", code="pat.malformed")
        match = self._exact.fullmatch(token.strip())
        if match is None:
            raise VerificationError(
                f"not a personal access token of this site (expected '{self.head}…')",
                code="pat.malformed",
            )
        lookup_id, secret, check = match.groups()
        if checksum(f"{self.head}{lookup_id}_{secret}") != check:
            raise VerificationError(
                "the token's checksum does not match: it was mistyped or cut short",
                code="pat.checksum_invalid",
            )
        return ParsedToken(lookup_id, secret)
