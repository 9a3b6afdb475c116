"""Group resolution and identity needs.

:class:`GroupResolver` turns what a provider says at sign-in (OIDC claims, SAML attributes, a
remote groups endpoint) into the person's groups, with per-provider rules and change tracking;
:func:`identity_from` turns the account and its groups into an :class:`Identity` providing
:func:`UserNeed` and :func:`RoleNeed` needs, which :class:`IdentitySerializer` keeps in a
session, signed.
"""

from authkit.groups._identity import Identity, IdentitySerializer, identity_from
from authkit.groups._needs import Need, RoleNeed, SystemRoleNeed, UserNeed
from authkit.groups._remote import RemoteSource
from authkit.groups._resolver import (
    FailurePolicy,
    GroupResolution,
    GroupResolver,
    GroupSource,
    SourceOutcome,
)
from authkit.groups._rules import DroppedGroup, GroupRules
from authkit.groups._saml import AttributeNameForms, SAMLAttributeSource
from authkit.groups._sources import ClaimSource, ExpressionSource, HandlerSource

__all__ = [
    "AttributeNameForms",
    "ClaimSource",
    "DroppedGroup",
    "ExpressionSource",
    "FailurePolicy",
    "GroupResolution",
    "GroupResolver",
    "GroupRules",
    "GroupSource",
    "HandlerSource",
    "Identity",
    "IdentitySerializer",
    "Need",
    "RemoteSource",
    "RoleNeed",
    "SAMLAttributeSource",
    "SourceOutcome",
    "SystemRoleNeed",
    "UserNeed",
    "identity_from",
]
