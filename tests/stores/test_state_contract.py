"""The state store contract: one suite against MemoryStateStore and RedisStateStore.

Redis runs on its own clock, so expiry itself is tested on the memory store with an injected
clock; on Redis the suite checks that the TTL given is the TTL Redis holds (PTTL), without
sleeping. Each Redis test uses a key prefix of its own and deletes only that prefix.
"""

from __future__ import annotations

import math
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from authkit.errors import StoreError, StoreUnavailableError
from authkit.stores import MemoryStateStore, RedisStateStore, StateStore


@pytest.fixture
def redis_store(redis_url: str) -> Iterator[RedisStateStore]:
    store = RedisStateStore.from_url(redis_url, prefix=f"authkit-test:{uuid.uuid4().hex}:")
    try:
        yield store
    finally:
        store.clear()
        store.client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.services)])
def store(request: pytest.FixtureRequest) -> StateStore:
    if request.param == "memory":
        return MemoryStateStore()
    redis_store: RedisStateStore = request.getfixturevalue("redis_store")
    return redis_store


def test_a_store_satisfies_the_protocol(store: StateStore) -> None:
    assert isinstance(store, StateStore)


def test_put_then_get_round_trips_json_data(store: StateStore) -> None:
    value = {
        "nonce": "n-1",
        "verifier": "v" * 64,
        "issued_at": 1768478400.25,
        "n": 3,
        "ok": True,
        "none": None,
        "nested": {"list": [1, "two", {"three": 3.0}]},
        "unicode": "Zoë ✓",
    }
    store.put("state:abc", value, ttl=60)
    assert store.get("state:abc") == value
    assert store.get("state:abc") == value  # get does not consume
    assert store.get("state:other") is None


def test_values_come_back_as_fresh_json_data(store: StateStore) -> None:
    store.put("k", {"items": ("a", "b"), "inner": {"x": 1}}, ttl=60)
    first = store.get("k")
    assert first == {"items": ["a", "b"], "inner": {"x": 1}}  # a tuple comes back as a list
    assert first is not None
    first["inner"]["x"] = 2  # mutating what came back changes nothing stored
    assert store.get("k") == {"items": ["a", "b"], "inner": {"x": 1}}


def test_put_replaces(store: StateStore) -> None:
    store.put("k", {"v": 1}, ttl=60)
    store.put("k", {"v": 2}, ttl=60)
    assert store.get("k") == {"v": 2}


def test_add_stores_only_when_absent(store: StateStore) -> None:
    assert store.add("replay:id-1", {"seen": True}, ttl=60) is True
    assert store.add("replay:id-1", {"seen": "again"}, ttl=60) is False
    assert store.get("replay:id-1") == {"seen": True}
    store.delete("replay:id-1")
    assert store.add("replay:id-1", {"seen": 2}, ttl=60) is True
    assert store.get("replay:id-1") == {"seen": 2}


def test_take_returns_the_value_once(store: StateStore) -> None:
    store.put("state:xyz", {"nonce": "n"}, ttl=60)
    assert store.take("state:xyz") == {"nonce": "n"}
    assert store.take("state:xyz") is None
    assert store.get("state:xyz") is None
    assert store.take("state:never") is None


def test_delete_removes_and_ignores_absent_keys(store: StateStore) -> None:
    store.put("k", {"v": 1}, ttl=60)
    store.delete("k")
    assert store.get("k") is None
    store.delete("k")
    store.delete("never-there")


@pytest.mark.parametrize("ttl", [0, -1, math.nan, math.inf, "60", True])
def test_a_ttl_must_be_a_positive_finite_number(store: StateStore, ttl: Any) -> None:
    for write in (store.put, store.add):
        with pytest.raises(StoreError) as info:
            write("k", {"v": 1}, ttl=ttl)
        assert info.value.code == "store.invalid_ttl"
    assert store.get("k") is None


@pytest.mark.parametrize(
    "value",
    [
        {"when": datetime(2026, 1, 15, tzinfo=UTC)},
        {"tags": {"a", "b"}},
        {"raw": b"bytes"},
        {"x": math.nan},
        ["not", "a", "mapping"],
    ],
)
def test_a_value_must_be_json_data(store: StateStore, value: Any) -> None:
    for write in (store.put, store.add):
        with pytest.raises(StoreError) as info:
            write("k", value, ttl=60)
        assert info.value.code == "store.invalid_value"
    assert store.get("k") is None


# --- expiry: logic on memory (injected clock), the TTL itself on Redis ---------------------------


def test_memory_values_expire_after_their_ttl(clock: Any) -> None:
    store = MemoryStateStore(clock=clock)
    store.put("state", {"v": 1}, ttl=10)
    store.add("replay", {"v": 1}, ttl=10)
    clock.advance(9.9)
    assert store.get("state") == {"v": 1}
    assert store.add("replay", {"v": 2}, ttl=10) is False
    clock.advance(0.1)
    assert store.get("state") is None
    assert store.take("state") is None
    assert store.add("replay", {"v": 2}, ttl=10) is True  # an expired key counts as absent
    assert store.get("replay") == {"v": 2}


@pytest.mark.services
def test_redis_holds_the_ttl_given(redis_store: RedisStateStore) -> None:
    redis_store.put("put", {"v": 1}, ttl=600)
    redis_store.add("add", {"v": 1}, ttl=30.5)
    redis_store.put("tiny", {"v": 1}, ttl=0.0001)  # rounded up to one millisecond, never 0
    put_ttl, add_ttl = redis_store.ttl("put"), redis_store.ttl("add")
    assert put_ttl is not None
    assert 599 < put_ttl <= 600
    assert add_ttl is not None
    assert 30 < add_ttl <= 30.5
    assert redis_store.ttl("absent") is None
    raw_pttl = redis_store.client.pttl(redis_store.prefix + "put")
    assert 599_000 < raw_pttl <= 600_000


@pytest.mark.services
def test_redis_add_keeps_the_first_values_ttl(redis_store: RedisStateStore) -> None:
    assert redis_store.add("k", {"v": 1}, ttl=600) is True
    assert redis_store.add("k", {"v": 2}, ttl=5) is False
    ttl = redis_store.ttl("k")
    assert ttl is not None
    assert ttl > 500


# --- Redis specifics ------------------------------------------------------------------------------


@pytest.mark.services
def test_redis_keys_live_under_the_prefix_and_clear_removes_only_them(
    redis_store: RedisStateStore, redis_url: str
) -> None:
    outsider = f"authkit-test-outsider:{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(outsider, b"keep", px=60_000)
        redis_store.put("a", {"v": 1}, ttl=60)
        redis_store.put("b", {"v": 2}, ttl=60)
        assert client.get(redis_store.prefix + "a") == b'{"v":1}'
        assert redis_store.clear() == 2
        assert redis_store.get("a") is None
        assert client.get(outsider) == b"keep"
    finally:
        client.delete(outsider)
        client.close()


@pytest.mark.services
def test_redis_two_prefixes_do_not_see_each_other(
    redis_store: RedisStateStore, redis_url: str
) -> None:
    other = RedisStateStore.from_url(redis_url, prefix=redis_store.prefix + "other:")
    try:
        redis_store.put("k", {"v": "mine"}, ttl=60)
        assert other.get("k") is None
        assert other.add("k", {"v": "theirs"}, ttl=60) is True
        assert redis_store.get("k") == {"v": "mine"}
    finally:
        other.clear()
        other.client.close()


@pytest.mark.services
@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_redis_a_value_not_written_by_authkit_is_a_typed_error(
    redis_store: RedisStateStore, raw: bytes
) -> None:
    redis_store.client.set(redis_store.prefix + "foreign", raw, px=60_000)
    with pytest.raises(StoreError) as got:
        redis_store.get("foreign")
    assert got.value.code == "store.corrupt_value"
    with pytest.raises(StoreError) as taken:
        redis_store.take("foreign")
    assert taken.value.code == "store.corrupt_value"


@pytest.mark.services
def test_redis_a_wrong_type_under_a_key_is_a_typed_error(redis_store: RedisStateStore) -> None:
    redis_store.client.rpush(redis_store.prefix + "list", b"x")
    with pytest.raises(StoreError) as info:
        redis_store.get("list")
    assert info.value.code == "store.error"
    assert "WRONGTYPE" in info.value.message


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_unreachable_is_store_unavailable() -> None:
    store = RedisStateStore.from_url(f"redis://127.0.0.1:{_closed_port()}/0", connect_timeout=1)
    for call in (
        lambda: store.put("k", {"v": 1}, ttl=60),
        lambda: store.add("k", {"v": 1}, ttl=60),
        lambda: store.get("k"),
        lambda: store.take("k"),
        lambda: store.delete("k"),
    ):
        with pytest.raises(StoreUnavailableError) as info:
            call()
        assert info.value.code == "store.unavailable"
