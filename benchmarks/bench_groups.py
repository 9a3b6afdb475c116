"""Group resolution at sign-in: a realistic GroupResolver vs a bare dict lookup, one run.

Resolution runs on every login, so its cost is measured beside the least any application does
with a groups claim: ``frozenset(userinfo["groups"])``. The user info is Keycloak-shaped with
50 groups in all (40 group paths, 5 realm roles, 5 client roles) plus the usual profile claims.

Contenders:

- ``authkit``: :meth:`authkit.groups.GroupResolver.resolve_detailed` with four sources (static
  groups, the ``groups`` claim, ``realm_access.roles`` by dotted path, the client's roles by a
  JMESPath expression) and five rules (strip ``/``, lower case, rename, exclude by regular
  expression, add a prefix), change tracking against the previous groups, default limits;
- ``authkit-claim``: ``GroupResolver(claim="groups").resolve`` (one source, default rules);
- ``bare``: ``frozenset(userinfo["groups"])``.

Each round times every contender over the same number of calls (order rotated, garbage
collector off, like :mod:`timeit`); the best and median per-call times over the rounds are
reported, and the ratios use the best times (the least noisy estimate on a shared machine).

Run: ``python benchmarks/bench_groups.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

from _timing import measure  # benchmarks/_timing.py, beside this script


def userinfo() -> dict[str, Any]:
    """A Keycloak user info with 50 groups and roles."""
    return {
        "sub": "f3b1c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "email": "jane.doe@example.org",
        "email_verified": True,
        "name": "Jane Doe",
        "preferred_username": "jdoe",
        "groups": [f"/Org/Dept-{i // 8:02d}/Team-{i:02d}" for i in range(40)],
        "realm_access": {
            "roles": ["offline_access", "uma_authorization", "Curator", "Reviewer", "Staff"]
        },
        "resource_access": {
            "invenio": {"roles": ["admin", "community-manager", "deposit", "read", "write"]},
            "account": {"roles": ["manage-account", "view-profile"]},
        },
    }


def setup() -> dict[str, Callable[[], Any]]:
    """Build the resolvers and one zero-argument callable per contender."""
    from authkit.groups import GroupResolver, GroupRules

    info = userinfo()
    realistic = GroupResolver(
        provider="keycloak",
        static=["users"],
        claim=["groups", "realm_access.roles"],
        expression="resource_access.invenio.roles",
        rules=GroupRules(
            strip_prefixes="/",
            case="lower",
            rename={"admin": "administrators", "read": "readers", "write": "writers"},
            exclude_regex=(r"offline_access|uma_.*",),
            add_prefix="kc:",
        ),
    )
    plain = GroupResolver(claim="groups")
    previous = realistic.resolve_detailed(info).managed - {"kc:curator"}

    def run_authkit() -> Any:
        return realistic.resolve_detailed(info, previous=previous)

    def run_claim() -> Any:
        return plain.resolve(info)

    def run_bare() -> Any:
        return frozenset(info["groups"])

    resolution = run_authkit()
    if len(resolution.groups) != 49 or resolution.added != {"kc:curator"}:
        raise SystemExit(f"unexpected resolution: {sorted(resolution.groups)}")
    if run_claim() != run_bare():
        raise SystemExit("authkit-claim and bare disagree")
    return {"authkit": run_authkit, "authkit-claim": run_claim, "bare": run_bare}


LABELS = {
    "authkit": "authkit resolve_detailed (4 sources, 5 rules, tracking)",
    "authkit-claim": "authkit resolve (claim only, default rules)",
    "bare": 'bare frozenset(userinfo["groups"])',
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few calls, for tests")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 9; quick 3)")
    parser.add_argument("--calls", type=int, default=None, help="calls per round (2000; 50)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)
    calls = args.calls or (50 if args.quick else 2000)

    contenders = setup()
    times = measure(contenders, rounds, calls)
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}

    print(f"groups: 50 in the user info, 49 resolved; {rounds} rounds x {calls} calls")
    print(f"{'contender':<58} {'best':>10} {'median':>10} {'x bare':>8}")
    for name, label in LABELS.items():
        print(
            f"{label:<58} {best[name] * 1e6:>8.1f}us {median[name] * 1e6:>8.1f}us "
            f"{best[name] / best['bare']:>7.1f}x"
        )
    print(f"ratio authkit/bare: {best['authkit'] / best['bare']:.1f}")
    print(f"ratio authkit-claim/bare: {best['authkit-claim'] / best['bare']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
