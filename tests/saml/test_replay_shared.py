"""An assertion is accepted once across workers that share a Redis replay cache."""

from __future__ import annotations

import secrets

import pytest
from tests.saml.saml_sp_kit import NOW, REQUEST_ID, idp, settings_dict, spec

from authkit.errors import SAMLValidationError
from authkit.saml import SAMLSettings, ServiceProvider, StateStoreReplayCache
from authkit.stores import RedisStateStore


def test_a_replay_to_another_worker_is_refused(redis_url: str) -> None:
    prefix = f"authkit-test-{secrets.token_hex(4)}:"
    shared = RedisStateStore.from_url(redis_url, prefix=prefix)
    try:
        worker_a = ServiceProvider(
            SAMLSettings.from_dict(settings_dict()), replay_cache=StateStoreReplayCache(shared)
        )
        worker_b = ServiceProvider(
            SAMLSettings.from_dict(settings_dict()),
            replay_cache=StateStoreReplayCache(RedisStateStore.from_url(redis_url, prefix=prefix)),
        )
        response = idp().build_base64(spec())
        authn = worker_a.process_response(response, request_id=REQUEST_ID, now=NOW)
        assert authn.name_id
        with pytest.raises(SAMLValidationError) as info:
            worker_b.process_response(response, request_id=REQUEST_ID, now=NOW)
        assert info.value.code == "saml.replayed"
        # The entry lives until the assertion's NotOnOrAfter, not forever.
        keys = list(shared.client.scan_iter(f"{prefix}*"))
        assert len(keys) == 1
        assert shared.client.pttl(keys[0]) > 0
    finally:
        for key in shared.client.scan_iter(f"{prefix}*"):
            shared.client.delete(key)
