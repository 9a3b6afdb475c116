"""Resolve a person's groups at sign-in, track changes, and keep them on a signed identity.

Run it: ``python examples/groups.py``. It starts authkit's Keycloak-shaped test provider on
127.0.0.1, signs Jane in, and resolves her groups from the user info (group paths and realm
roles) and from a remote source (the provider's UserInfo endpoint, called with her access token
and cached). Then it shows an Opal-style claim, SAML entitlement URNs and a custom resolver,
change tracking on her next sign-in, and her identity kept in a signed session value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from authkit.config import RemoteApp
from authkit.groups import (
    GroupResolver,
    GroupRules,
    IdentitySerializer,
    RemoteSource,
    RoleNeed,
    identity_from,
)
from authkit.providers import oauth_client
from authkit.stores import MemoryStateStore
from authkit.testing import OIDCClient, OIDCProvider, OIDCUser

SITE = "http://127.0.0.1:8000"
CALLBACK = f"{SITE}/oauth/authorized/keycloak/"


def sign_in(op: OIDCProvider) -> tuple[dict[str, Any], str]:
    """Sign Jane in through the test provider; return her user info and access token."""
    app = RemoteApp(
        name="keycloak",
        title="Keycloak",
        protocol="oidc",
        issuer=op.issuer,
        client_id="site",
        client_secret="site-secret",
        scope="openid email profile roles groups",
    )
    client = oauth_client(app, public_url=SITE)
    redirect = client.authorization_redirect(session_id="browser-session")
    answer = requests.get(redirect.url, allow_redirects=False, timeout=5)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    result = client.handle_callback(
        {k: v[0] for k, v in query.items()}, session_id="browser-session"
    )
    return dict(result.userinfo), result.tokens.access_token


def keycloak(op: OIDCProvider, userinfo: Mapping[str, Any], token: str) -> None:
    resolver = GroupResolver(
        provider="keycloak",
        static=["users"],
        claim=["groups", "realm_access.roles"],
        remote=RemoteSource(url=op.userinfo_url, path="groups", refresh_interval=300),
        rules=GroupRules(
            strip_prefixes="/",
            exclude_regex=[r"offline_access|uma_authorization|default-roles-.*"],
        ),
        on_failure="keep_cached",
        store=MemoryStateStore(),
    )
    first = resolver.resolve_detailed(userinfo, access_token=token)
    print("keycloak groups:", sorted(first.groups))
    print("sources:", ", ".join(f"{o.source.split(':')[0]}={o.status}" for o in first.outcomes))
    again = resolver.resolve_detailed(userinfo, access_token=token, previous=first.managed)
    print("second resolution, remote:", again.outcomes[2].status, "| added:", sorted(again.added))
    with op.fault("userinfo", "http_500"):
        later = datetime.now(UTC) + timedelta(minutes=10)  # the cache is due for a refresh
        degraded = resolver.resolve_detailed(userinfo, access_token=token, now=later)
    remote = degraded.outcomes[2]
    print("provider down:", remote.status, remote.error.code if remote.error else None)


def other_shapes() -> None:
    opal = GroupResolver(provider="opal", static=["opal-users"], claim="groups")
    print("opal string claim:", sorted(opal.resolve({"groups": "analysts, data-managers"})))
    print("opal JSON in a string:", sorted(opal.resolve({"groups": '["analysts"]'})))

    saml = GroupResolver(
        provider="university",
        saml_attributes="eduPersonEntitlement",
        urn_prefixes="urn:mace:example.org:group:",
    )
    attributes = {
        "urn:oid:1.3.6.1.4.1.5923.1.1.1.7": [
            "urn:mace:example.org:group:research-data",
            "urn:mace:other.org:group:ignored",
        ]
    }
    print("saml entitlements:", sorted(saml.resolve(attributes)))

    def by_domain(userinfo: Mapping[str, Any]) -> list[str]:
        domain = str(userinfo.get("email", "")).rpartition("@")[2]
        return [f"domain:{domain}"] if domain else []

    custom = GroupResolver(handler=by_domain, expression="orgs[?active].name")
    info = {"email": "jane@example.org", "orgs": [{"name": "cern", "active": True}]}
    print("custom resolver:", sorted(custom.resolve(info)))


def tracking() -> None:
    resolver = GroupResolver(provider="keycloak", claim="groups")
    before = resolver.resolve_detailed({"groups": ["staff", "editors"]})
    after = resolver.resolve_detailed({"groups": ["staff", "reviewers"]}, previous=before.managed)
    print("next sign-in: added", sorted(after.added), "removed", sorted(after.removed))
    current = {"staff", "editors", "local-admins"}  # local-admins was granted by hand
    print("groups now:", sorted(after.apply(current, hand_granted={"local-admins"})))


def identity(groups: Any) -> None:
    person = identity_from(42, groups, system_roles=["authenticated_user"])
    serializer = IdentitySerializer(keys=["a-long-random-secret-key-of-32-bytes!"], max_age=3600)
    cookie = serializer.dumps(person)
    loaded = serializer.loads(cookie)
    print("identity provides staff:", loaded.can(any_of=[RoleNeed("staff")]))
    print("identity provides admins:", loaded.can(any_of=[RoleNeed("admins")]))
    print("session value round-trips:", loaded.provides == person.provides)


def main() -> None:
    jane = OIDCUser(
        sub="jane",
        claims={
            "email": "jane@example.org",
            "email_verified": True,
            "preferred_username": "jane",
            "groups": ["/staff", "/staff/editors"],
            "realm_access": {"roles": ["offline_access", "uma_authorization", "curator"]},
        },
    )
    registration = OIDCClient(
        client_id="site", client_secret="site-secret", redirect_uris=[CALLBACK]
    )
    with OIDCProvider(
        users=[jane], clients=[registration], shape="keycloak", auto_login="jane"
    ) as op:
        userinfo, token = sign_in(op)
        keycloak(op, userinfo, token)
        groups = GroupResolver(
            claim="groups", rules=GroupRules(strip_prefixes="/")
        ).resolve_detailed(userinfo)
    other_shapes()
    tracking()
    identity(groups)


if __name__ == "__main__":
    main()
