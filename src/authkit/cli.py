"""The ``authkit`` command.

``authkit check-config FILE``
    Reads a configuration file (``invenio.cfg`` or another Python configuration file, TOML or
    JSON) without executing it, and prints what :func:`authkit.config.check_config` finds,
    grouped by severity, each with its fix. Exits 1 when there is an error finding.
``authkit providers FILE``
    Lists the providers the file configures, with their kind, whether the login page lists
    them, and the callback URL to register at each provider.
``authkit discover ISSUER_URL``
    Fetches the provider's discovery document and prints the remote app built from it (JSON,
    or ``--format invenio|opal``).
``authkit saml-metadata FILE [--idp NAME]``
    Prints the SAML SP metadata of a python3-saml settings file or an ``SSO_SAML_IDPS`` entry.
``authkit demo [--smoke] [--port N]``
    Runs the demo site against providers started on loopback; ``--smoke`` signs in through
    every path with an HTTP client and prints each check.

Exit status: 0 success, 1 the configuration has errors, 2 the command could not run (unreadable
file, bad arguments).

Adding a subcommand takes one function: ``_add_<name>(subparsers)`` creates the subparser with
its arguments and ``set_defaults(run=<function taking the parsed arguments and returning the
exit status>)``; list it in :data:`_COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, TextIO

from authkit import __version__
from authkit.config import Finding, LoadedConfig, RemoteApp, load_config_file
from authkit.config._checks import SEVERITIES, RemoteAppsReport, load_remote_apps
from authkit.errors import ConfigurationError

__all__ = ["main"]

EXIT_OK: Final = 0
EXIT_FINDINGS: Final = 1
EXIT_UNUSABLE: Final = 2

#: Environment variables Invenio reads as settings (``INVENIO_SECRET_KEY`` -> ``SECRET_KEY``).
INVENIO_ENV_PREFIX: Final = "INVENIO_"

_WIDTH: Final = 100
_HEADINGS: Final = {"error": "Errors", "warning": "Warnings", "info": "Notes"}

if TYPE_CHECKING:
    _Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


# --- shared -------------------------------------------------------------------------------


def _add_file_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="invenio.cfg (Python), .toml or .json file")
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help="the site's public URL, to tell which providers its login page lists "
        "(default: the file's SITE_UI_URL)",
    )
    parser.add_argument(
        "--invenio-env",
        action="store_true",
        help="also read INVENIO_* environment variables as settings and credentials, as "
        "Invenio does (INVENIO_SECRET_KEY sets SECRET_KEY)",
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (text)"
    )


def _load(args: argparse.Namespace) -> LoadedConfig:
    prefix = INVENIO_ENV_PREFIX if args.invenio_env else None
    return load_config_file(args.file, env_prefix=prefix)


def _environ(args: argparse.Namespace) -> dict[str, str] | None:
    return dict(os.environ) if args.invenio_env else None


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(
        text, width=_WIDTH, initial_indent=indent, subsequent_indent=indent, break_long_words=False
    )


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def _summary(counts: dict[str, int]) -> str:
    words = {"error": ("error", "errors"), "warning": ("warning", "warnings")}
    words["info"] = ("note", "notes")
    return ", ".join(
        f"{counts[s]} {words[s][0] if counts[s] == 1 else words[s][1]}" for s in SEVERITIES
    )


def _print_finding(finding: Finding, out: TextIO) -> None:
    where = finding.key or "(file)"
    print(f"  {finding.code}  [{where}]", file=out)
    print(_wrap(finding.message, "      "), file=out)
    if finding.fix:
        print(_wrap(f"fix: {finding.fix}", "      "), file=out)


# --- check-config ------------------------------------------------------------------------------


def _add_check_config(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="check a configuration file's sign-in settings",
        description="Read a configuration file without executing it and report the sign-in "
        "settings that are insecure or do not do what they seem to. Exit status: 0 no errors, "
        "1 errors found, 2 the file cannot be read.",
    )
    _add_file_arguments(parser)
    parser.add_argument(
        "--min-severity",
        choices=SEVERITIES,
        default="info",
        help="hide findings less serious than this (the exit status still counts errors)",
    )
    parser.set_defaults(run=_run_check_config)


def _run_check_config(args: argparse.Namespace) -> int:
    loaded = _load(args)
    findings = loaded.check(public_url=args.public_url, environ=_environ(args))
    counts = _counts(findings)
    shown_severities = SEVERITIES[: SEVERITIES.index(args.min_severity) + 1]
    shown = [f for f in findings if f.severity in shown_severities]
    out = sys.stdout
    if args.format == "json":
        document = {
            "source": loaded.source,
            "summary": counts,
            "unevaluated": sorted(loaded.unevaluated),
            "findings": [f.to_dict() for f in shown],
        }
        print(json.dumps(document, indent=2), file=out)
    else:
        print(f"{loaded.source}: {_summary(counts)}", file=out)
        for severity in shown_severities:
            group = [f for f in shown if f.severity == severity]
            if not group:
                continue
            print(f"\n{_HEADINGS[severity]} ({len(group)})", file=out)
            for finding in group:
                _print_finding(finding, out)
    return EXIT_FINDINGS if counts["error"] else EXIT_OK


# --- providers ---------------------------------------------------------------------------------


def _add_providers(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "providers",
        help="list the providers a configuration file defines, with their callback URLs",
        description="List the OAuth / OpenID Connect providers of a configuration file "
        "(OAUTHCLIENT_REMOTE_APPS), whether the login page lists them, and the callback URL to "
        "register at each. Exit status: 0 all providers load, 1 some do not, 2 the file cannot "
        "be read.",
    )
    _add_file_arguments(parser)
    parser.set_defaults(run=_run_providers)


def _listing(app: RemoteApp, listed: set[str]) -> str:
    if not app.enabled:
        return "no: disabled"
    if app.link_only:
        return "no: link only"
    if app.hidden:
        return "no: hidden"
    if app.name not in listed:
        return "no: other public URL"
    if app.hide_when is not None:
        return "yes, unless hide_when"
    return "yes"


def _public_url(args: argparse.Namespace, loaded: LoadedConfig) -> str | None:
    if args.public_url:
        return str(args.public_url)
    site = loaded.values.get("SITE_UI_URL")
    return site if isinstance(site, str) else None


def _run_providers(args: argparse.Namespace) -> int:
    loaded = _load(args)
    report: RemoteAppsReport = load_remote_apps(
        loaded.values, unknown=loaded.unevaluated, environ=_environ(args)
    )
    public_url = _public_url(args, loaded)
    listed = {app.name for app in report.visible(public_url)}
    rows = []
    for app in report.apps.values():
        callback = (
            report.registry.callback_url(app.name, public_url)
            if public_url
            else f"<public URL>/oauth/authorized/{app.name}/"
        )
        rows.append(
            {
                "name": app.name,
                "title": app.title,
                "kind": app.kind,
                "protocol": app.protocol,
                "listed": _listing(app, listed),
                "callback_url": callback,
            }
        )
    relevant = [f for f in loaded.findings if _about_providers(f)]
    problems = [*relevant, *report.findings]
    out = sys.stdout
    if args.format == "json":
        document = {
            "source": loaded.source,
            "public_url": public_url,
            "providers": rows,
            "findings": [f.to_dict() for f in problems],
        }
        print(json.dumps(document, indent=2), file=out)
    else:
        count = len(rows)
        where = f" (public URL {public_url})" if public_url else " (no public URL known)"
        print(f"{loaded.source}: {count} provider{'' if count == 1 else 's'}{where}", file=out)
        if rows:
            print(file=out)
            _print_table(rows, ("name", "title", "kind", "listed", "callback_url"), out)
        if not public_url:
            print("\nPass --public-url (or set SITE_UI_URL) to get the callback URLs.", file=out)
        if problems:
            print(f"\nProblems ({len(problems)})", file=out)
            for finding in problems:
                _print_finding(finding, out)
    return EXIT_FINDINGS if any(f.severity == "error" for f in problems) else EXIT_OK


def _about_providers(finding: Finding) -> bool:
    key = finding.key or ""
    return "OAUTHCLIENT_" in key or "_APP_CREDENTIALS" in key or "SITE_UI_URL" in key


def _print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    headers = {c: c.replace("_", " ").upper() for c in columns}
    widths = {c: max(len(headers[c]), *(len(str(r[c])) for r in rows)) for c in columns}
    line = "  ".join(headers[c].ljust(widths[c]) for c in columns)
    print(line.rstrip(), file=out)
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip(), file=out)


# --- discover ----------------------------------------------------------------------------------


def _add_discover(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="print the remote app built from an OpenID provider's discovery document",
        description="Fetch ISSUER_URL/.well-known/openid-configuration, check that it names "
        "that issuer, and print the remote-app definition built from it.",
    )
    parser.add_argument("issuer", metavar="ISSUER_URL", help="the provider's issuer URL")
    parser.add_argument("--name", default="oidc", help="the provider's name (default: oidc)")
    parser.add_argument("--title", default=None, help="the sign-in button's title")
    parser.add_argument("--client-id", default=None, help="the client id registered there")
    parser.add_argument(
        "--format",
        choices=("json", "invenio", "opal"),
        default="json",
        help="authkit's JSON (default), an Invenio REMOTE_APP or an Opal definition",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")
    parser.set_defaults(run=_run_discover)


def _run_discover(args: argparse.Namespace) -> int:
    from authkit.config import to_invenio, to_opal
    from authkit.errors import ProviderError
    from authkit.oauth import discovery_url_for, fetch_provider_metadata
    from authkit.providers import remote_app_from_discovery
    from authkit.transport import RequestsTransport, Timeout

    issuer = args.issuer.rstrip("/") if args.issuer.count("/") > 2 else args.issuer
    try:
        metadata = fetch_provider_metadata(
            issuer,
            transport=RequestsTransport(),
            timeout=Timeout(connect=args.timeout, read=args.timeout),
            provider=args.name,
        )
    except ProviderError as exc:
        print(f"authkit: error: {exc} [{exc.code}]", file=sys.stderr)
        return EXIT_UNUSABLE
    app = remote_app_from_discovery(
        args.name,
        args.title or args.name,
        metadata.raw,
        client_id=args.client_id,
        expected_issuer=metadata.issuer,
        discovery_url=discovery_url_for(metadata.issuer),
    )
    if args.format == "invenio":
        shaped: Any = to_invenio(app)
    elif args.format == "opal":
        shaped = to_opal(app)
    else:
        shaped = app.to_dict(secrets=False)
    print(json.dumps(shaped, indent=2, sort_keys=True, default=str))
    return EXIT_OK


# --- saml-metadata -----------------------------------------------------------------------------


def _add_saml_metadata(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "saml-metadata",
        help="print the SAML service provider metadata a settings file describes",
        description="Read a python3-saml settings JSON file, or a configuration file with "
        "invenio-saml's SSO_SAML_IDPS (invenio.cfg, TOML or JSON, read without executing it), "
        "and print the SP metadata XML to register at the IdP.",
    )
    parser.add_argument("file", metavar="FILE", help="settings.json or a configuration file")
    parser.add_argument("--idp", help="which SSO_SAML_IDPS entry (needed when there are several)")
    parser.set_defaults(run=_run_saml_metadata)


def _run_saml_metadata(args: argparse.Namespace) -> int:
    from pathlib import Path

    from authkit.saml import SAMLSettings, ServiceProvider, load_sso_saml_idps

    path = Path(args.file)
    values: dict[str, Any] = {}
    if path.suffix == ".json":
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"cannot read the JSON file: {exc}", key=str(path), code="config.unreadable"
            ) from exc
    if isinstance(values, dict) and "sp" in values:  # a python3-saml settings file
        settings = SAMLSettings.from_dict(values)
    else:
        idps = load_config_file(path).values.get("SSO_SAML_IDPS")
        if not isinstance(idps, dict) or not idps:
            raise ConfigurationError(
                "holds neither python3-saml settings nor SSO_SAML_IDPS",
                key=str(path),
                code="config.missing_key",
            )
        configs = load_sso_saml_idps(idps, base_dir=path.parent)
        name = args.idp or (next(iter(configs)) if len(configs) == 1 else None)
        if name not in configs:
            raise ConfigurationError(
                f"name the IdP with --idp: one of {', '.join(sorted(configs))}",
                key="SSO_SAML_IDPS",
                code="config.missing_key",
            )
        settings = configs[name].to_settings()
    sys.stdout.write(ServiceProvider(settings).metadata().decode("utf-8") + "\n")
    return EXIT_OK


# --- demo --------------------------------------------------------------------------------------


def _add_demo(subparsers: _Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the demo site with loopback OpenID, ORCID-like and SAML providers",
        description="Start real providers and a demo site on 127.0.0.1 (accounts in SQLite in "
        "a temporary directory) and print its URL. With --smoke, sign in through every path "
        "with an HTTP client instead, print each check, and exit 0 only when all passed.",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="sign in through every path with an HTTP client, print the checks and exit",
    )
    parser.add_argument("--port", type=int, default=0, help="the site's port (default: free)")
    parser.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from authkit._demo import run_demo

    return run_demo(sys.stdout, smoke=args.smoke, port=args.port)


# --- the command -------------------------------------------------------------------------------

#: One function per subcommand, in the order ``authkit --help`` lists them.
_COMMANDS: Final[tuple[Callable[[_Subparsers], None], ...]] = (
    _add_demo,
    _add_discover,
    _add_saml_metadata,
    _add_check_config,
    _add_providers,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``authkit`` command, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="authkit",
        description="authkit: provider-agnostic authentication.",
    )
    parser.add_argument("--version", action="version", version=f"authkit {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in _COMMANDS:
        add(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``authkit`` command.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 success, 1 the configuration has errors, 2 the command could not
        run (unreadable file, bad arguments).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed why
        return exc.code if isinstance(exc.code, int) else EXIT_UNUSABLE
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_UNUSABLE
    try:
        return run(args)
    except ConfigurationError as exc:
        print(f"authkit: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
