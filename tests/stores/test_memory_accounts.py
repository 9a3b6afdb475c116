"""MemoryAccountsStore: transactions commit as a whole or leave nothing behind."""

from __future__ import annotations

import pytest

from authkit.errors import ConflictError, StoreError
from authkit.stores import Identity, MemoryAccountsStore, User


def test_a_failing_transaction_leaves_nothing() -> None:
    store = MemoryAccountsStore()

    def signup() -> None:
        with store.transaction() as tx:
            tx.create_user(User(id="u1", email="a@example.org"))
            tx.link_identity(Identity(provider="op", external_id="alice", user_id="u1"))
            raise RuntimeError("the third step failed")

    with pytest.raises(RuntimeError):
        signup()
    with store.transaction() as tx:
        assert tx.get_user("u1") is None
        assert tx.get_identity("op", "alice") is None


def test_uniqueness_is_enforced_case_insensitively() -> None:
    store = MemoryAccountsStore()
    with store.transaction() as tx:
        tx.create_user(User(id="u1", email="A@Example.org", username="Alice"))
    with pytest.raises(ConflictError) as email, store.transaction() as tx:
        tx.create_user(User(id="u2", email="a@example.ORG"))
    assert email.value.what == "email"
    with pytest.raises(ConflictError) as username, store.transaction() as tx:
        tx.create_user(User(id="u3", username="alice"))
    assert username.value.what == "username"
    with store.transaction() as tx:
        assert tx.find_user_by_email("a@EXAMPLE.org").id == "u1"
        tx.link_identity(Identity(provider="op", external_id="x", user_id="u1"))
    with pytest.raises(ConflictError) as identity, store.transaction() as tx:
        tx.link_identity(Identity(provider="op", external_id="x", user_id="u1"))
    assert identity.value.what == "identity"


def test_updating_a_missing_user_is_a_typed_error() -> None:
    store = MemoryAccountsStore()
    with pytest.raises(StoreError) as info, store.transaction() as tx:
        tx.update_user(User(id="nobody"))
    assert info.value.code == "store.not_found"
