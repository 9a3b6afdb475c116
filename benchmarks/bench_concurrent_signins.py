"""Concurrent sign-ins against the demo site: Redis state, PostgreSQL accounts.

Many threads each drive a real browser-like HTTP flow — the site's login route, the provider's
login form, the callback, the account page — against ``authkit demo``'s site, served by a
multi-threaded server with :class:`~authkit.stores.RedisStateStore` as the state store and
:class:`~authkit.stores.SQLAccountsStore` on PostgreSQL as the accounts store. Every thread then
replays its callback, which must be refused.

It checks that every sign-in succeeded, that each person has exactly one account (several
threads sign the same person in at once) and that no state was accepted twice, and prints
sign-ins per second and the CPU time per sign-in spent inside authkit (the site's request
threads) next to the CPU time spent inside the test providers, measured in the same run.

Run: ``python benchmarks/bench_concurrent_signins.py [--signins 200] [--people 50]``
(PostgreSQL on 127.0.0.1:5432 database ``test``, Redis on 127.0.0.1:6379).
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from typing import Any
from urllib.parse import urljoin

import requests

from authkit._demo_site import DemoSite
from authkit.stores import RedisStateStore, SQLAccountsStore
from authkit.testing import OIDCUser


class CPUMeter:
    """Adds up the CPU time of the threads running the wrapped handlers."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def wrap(self, handler: Callable[..., Any], *, wsgi: bool = False) -> Callable[..., Any]:
        """``handler`` measured; a WSGI app's body is produced inside the measurement."""

        def measured(*args: Any) -> Any:
            start = time.thread_time()
            try:
                result = handler(*args)
                return list(result) if wsgi else result
            finally:
                spent = time.thread_time() - start
                with self._lock:
                    self.seconds += spent

        return measured


def sign_in(base: str, person: str) -> tuple[bool, bool, str]:
    """One person signs in; returns (signed in, replay refused, detail)."""
    browser = requests.Session()
    form = browser.get(f"{base}/oauth/login/demo-oidc/?next=/account", timeout=60)
    action = re.search(r'<form[^>]*action="([^"]+)"', form.text)
    if form.status_code != 200 or action is None:
        return False, False, f"no login form ({form.status_code})"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.text))
    fields.update({"username": person, "password": f"{person}-pw", "action": "login"})
    answer = browser.post(urljoin(form.url, unescape(action.group(1))), data=fields, timeout=60)
    callback = next((r.headers.get("Location", "") for r in answer.history
                     if "/oauth/authorized/" in r.headers.get("Location", "")), "")  # fmt: skip
    signed_in = answer.url.endswith("/account") and f"{person}@example.org" in answer.text
    replay = browser.get(callback, allow_redirects=False, timeout=60) if callback else None
    refused = replay is not None and "oauth.state_reused" in replay.text
    return signed_in, refused, "" if signed_in else f"ended at {answer.url} ({answer.status_code})"


def run(signins: int, people: int, threads: int, postgres: str, redis_url: str) -> int:
    prefix = "bench_" + secrets.token_hex(4) + "_"
    accounts = SQLAccountsStore(postgres, table_prefix=prefix)
    state = RedisStateStore.from_url(redis_url, prefix=f"authkit-{prefix}")
    site_cpu, provider_cpu = CPUMeter(), CPUMeter()
    try:
        with DemoSite(accounts=accounts, state=state) as site:
            names = [f"person{i}" for i in range(people)]
            for name in names:
                site.oidc.add_user(
                    OIDCUser(sub=name, password=f"{name}-pw",
                             claims={"email": f"{name}@example.org", "email_verified": True,
                                     "name": name.title(), "groups": ["bench"]})
                )  # fmt: skip
            server = site._server
            assert server is not None
            server.set_app(site_cpu.wrap(server.get_app(), wsgi=True))
            site.oidc._server.handler = provider_cpu.wrap(site.oidc._server.handler)

            plan = [names[i % people] for i in range(signins)]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                results = list(pool.map(lambda person: sign_in(site.url, person), plan))
            elapsed = time.perf_counter() - started

            failures = [detail for ok, _, detail in results if not ok]
            replays_accepted = sum(1 for ok, refused, _ in results if ok and not refused)
            with accounts.transaction() as tx:
                found = [tx.find_user_by_email(f"{name}@example.org") for name in names]
                identities = sum(len(tx.identities_of(u.id)) for u in found if u is not None)
            missing = sum(1 for u in found if u is None)

        print(f"concurrent sign-ins: {signins} by {people} people on {threads} threads")
        print(f"  succeeded:               {signins - len(failures)}/{signins}")
        print(f"  accounts:                {people - missing} for {people} people "
              f"({identities} identities)")  # fmt: skip
        print(f"  replayed states accepted: {replays_accepted}")
        print(f"  sign-ins per second:     {signins / elapsed:.1f}")
        authkit_ms = site_cpu.seconds / signins * 1000
        provider_ms = provider_cpu.seconds / signins * 1000
        print(f"  CPU per sign-in, authkit (site):       {authkit_ms:.2f} ms")
        print(f"  CPU per sign-in, test providers:       {provider_ms:.2f} ms")
        print(f"  ratio authkit / providers:             {authkit_ms / provider_ms:.2f}")
        for detail in failures[:5]:
            print(f"  failure: {detail}")
        ok = not failures and missing == 0 and identities == people and replays_accepted == 0
        print("result: " + ("ok" if ok else "FAILED"))
        return 0 if ok else 1
    finally:
        accounts.drop_schema()
        accounts.engine.dispose()
        for key in state.client.scan_iter(f"authkit-{prefix}*"):
            state.client.delete(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signins", type=int, default=200)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args(argv)
    return run(args.signins, args.people, args.threads, args.postgres, args.redis)


if __name__ == "__main__":
    sys.exit(main())
