"""Accounts: account info, precedence masks, signup and linking flows, login policies."""

__all__: list[str] = []
