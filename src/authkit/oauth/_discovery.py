"""OpenID Connect Discovery 1.0 (§3 and §4): the provider's metadata document.

The document at ``<issuer>/.well-known/openid-configuration`` tells the endpoints, the keys and
what the provider supports. Its ``issuer`` must be exactly the issuer it was fetched for (§4.3):
otherwise a compromised or confused document could redirect the login elsewhere.

:func:`parse_provider_metadata` is sans-IO; :func:`fetch_provider_metadata` goes through the
transport and caches the raw document in a state store with a TTL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from authkit.config import RemoteApp
from authkit.config._validators import check_url
from authkit.errors import ProviderResponseError
from authkit.stores import StateStore
from authkit.transport import HTTPRequest, Timeout, Transport

__all__ = [
    "ProviderMetadata",
    "apply_provider_metadata",
    "discovery_url_for",
    "fetch_provider_metadata",
    "parse_provider_metadata",
]

WELL_KNOWN = "/.well-known/openid-configuration"
_URL_FIELDS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "end_session_endpoint",
    "revocation_endpoint",
)
_LIST_FIELDS = (
    "scopes_supported",
    "response_types_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "id_token_signing_alg_values_supported",
)


@attrs.frozen(kw_only=True)
class ProviderMetadata:
    """The parts of a discovery document authkit uses (the whole document is in ``raw``)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str | None = None
    userinfo_endpoint: str | None = None
    jwks_uri: str | None = None
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    response_types_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def discovery_url_for(issuer: str) -> str:
    """The discovery document URL of ``issuer`` (§4: path appended, not replaced)."""
    return issuer.rstrip("/") + WELL_KNOWN


def parse_provider_metadata(
    document: Mapping[str, Any], *, expected_issuer: str | None, source: str = "provider"
) -> ProviderMetadata:
    """Validate a discovery document and return its metadata.

    Args:
        document: The decoded JSON object.
        expected_issuer: The issuer the document was fetched for; ``None`` skips the check
            (only for documents given by the operator, never for fetched ones).
        source: Name used in error messages.

    Raises:
        ProviderResponseError: A required field is missing or malformed (code
            ``oidc.discovery_invalid``), or the issuer differs (``oidc.discovery_issuer_mismatch``).
    """

    def bad(message: str, code: str = "oidc.discovery_invalid") -> ProviderResponseError:
        return ProviderResponseError(f"{source}: discovery document {message}", code=code)

    if not isinstance(document, Mapping):
        raise bad("is not a JSON object")
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or check_url(issuer):
        raise bad("has no valid 'issuer'")
    if expected_issuer is not None and issuer != expected_issuer:
        raise bad(
            f"names issuer {issuer!r} but was fetched for {expected_issuer!r}",
            code="oidc.discovery_issuer_mismatch",
        )
    values: dict[str, Any] = {"issuer": issuer, "raw": dict(document)}
    for field in _URL_FIELDS:
        value = document.get(field)
        if value is None:
            continue
        if check_url(value):
            raise bad(f"has a malformed {field!r}")
        values[field] = value
    if "authorization_endpoint" not in values:
        raise bad("has no 'authorization_endpoint'")
    for field in _LIST_FIELDS:
        value = document.get(field)
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise bad(f"has a malformed {field!r} (expected a list of strings)")
        values[field] = tuple(value)
    iss_supported = document.get("authorization_response_iss_parameter_supported", False)
    if not isinstance(iss_supported, bool):
        raise bad("has a malformed 'authorization_response_iss_parameter_supported'")
    values["authorization_response_iss_parameter_supported"] = iss_supported
    return ProviderMetadata(**values)


def fetch_provider_metadata(
    issuer_or_url: str,
    *,
    transport: Transport,
    timeout: Timeout | None = None,
    store: StateStore | None = None,
    ttl: float = 3600.0,
    expected_issuer: str | None = None,
    provider: str | None = None,
) -> ProviderMetadata:
    """Fetch, validate and cache the discovery document.

    Args:
        issuer_or_url: The issuer, or the full ``.well-known`` URL.
        transport: Where the GET goes.
        timeout: Connect/read timeouts (the provider's).
        store: Shared cache for the raw document; ``None`` fetches every time.
        ttl: How long a cached document is trusted, in seconds.
        expected_issuer: The issuer the document must name; derived from ``issuer_or_url``
            when that is not a ``.well-known`` URL.
        provider: Name for messages.

    Raises:
        ProviderError: Unreachable, timed out, error status or malformed document.
    """
    if issuer_or_url.endswith(WELL_KNOWN):
        url = issuer_or_url
        expected = expected_issuer or issuer_or_url[: -len(WELL_KNOWN)]
    else:
        url = discovery_url_for(issuer_or_url)
        expected = expected_issuer or issuer_or_url
    key = f"authkit:discovery:{url}"
    cached = store.get(key) if store is not None else None
    if cached is not None:
        return parse_provider_metadata(cached, expected_issuer=expected, source=provider or url)
    response = transport.send(
        HTTPRequest(
            method="GET",
            url=url,
            headers={"Accept": "application/json"},
            timeout=timeout or Timeout(),
            provider=provider,
        )
    )
    response.raise_for_status(provider=provider)
    document = response.json_object(provider=provider)
    metadata = parse_provider_metadata(document, expected_issuer=expected, source=provider or url)
    if store is not None:
        store.put(key, document, ttl=ttl)
    return metadata


def apply_provider_metadata(app: RemoteApp, metadata: ProviderMetadata) -> RemoteApp:
    """Fill the endpoints ``app`` does not set from ``metadata``; configured values win."""
    changes: dict[str, Any] = {}

    def fill(field: str, value: str | None) -> None:
        if value is not None and getattr(app, field) is None:
            changes[field] = value

    fill("issuer", metadata.issuer)
    fill("authorize_url", metadata.authorization_endpoint)
    fill("token_url", metadata.token_endpoint)
    fill("userinfo_url", metadata.userinfo_endpoint)
    fill("jwks_url", metadata.jwks_uri)
    fill("end_session_url", metadata.end_session_endpoint)
    fill("revocation_url", metadata.revocation_endpoint)
    if app.protocol != "oidc":
        changes["protocol"] = "oidc"
    return app.evolve(**changes) if changes else app
