"""The provider registry and its administration operations (config/_registry.py)."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import attrs
import pytest

from authkit.config import ProviderRegistry, RemoteApp, from_opal
from authkit.errors import (
    ConfigurationError,
    DuplicateProviderError,
    HandlerImportError,
    InvalidSettingError,
    MissingSettingError,
    UnknownProviderError,
    UnknownSettingError,
)
from authkit.transport import Timeout

OPAL_KEYCLOAK = {
    "name": "keycloak",
    "label": "Keycloak",
    "providerUrl": "https://kc.example.org/realms/opal/account",
    "clientId": "opal",
    "secret": "kc-secret",
    "discoveryURI": "https://kc.example.org/realms/opal/.well-known/openid-configuration",
    "scope": "openid",
    "useNonce": True,
    "connectTimeout": 500,
    "readTimeout": 500,
    "groups": "a, b",
    "groupsClaim": "",
    "enabled": True,
    "callbackURL": "https://opal.example.org/auth/callback/",
}


def _app(name: str, **fields: Any) -> RemoteApp:
    fields.setdefault("title", name.title())
    return RemoteApp(name=name, **fields)


@pytest.fixture
def registry() -> ProviderRegistry:
    return ProviderRegistry(
        [
            _app(
                "github",
                authorize_url="https://github.com/login/oauth/authorize",
                client_id="gh-id",
                client_secret="gh-secret",
                timeout=Timeout(connect=2.0, read=4.0),
            ),
            from_opal(OPAL_KEYCLOAK),
        ]
    )


# --- reading ---------------------------------------------------------------------------------


def test_container_protocol(registry: ProviderRegistry) -> None:
    assert len(registry) == 2
    assert registry.names() == ["github", "keycloak"]
    assert [app.name for app in registry] == ["github", "keycloak"]
    assert "github" in registry
    assert "GitHub" not in registry
    assert 3 not in registry
    assert registry.get("keycloak") == from_opal(OPAL_KEYCLOAK)
    assert "github" in repr(registry)


def test_iteration_is_a_snapshot(registry: ProviderRegistry) -> None:
    seen = []
    for app in registry:
        seen.append(app.name)
        registry.add(_app(app.name + "-copy"))
    assert seen == ["github", "keycloak"]
    assert len(registry) == 4


def test_get_unknown_lists_known_names(registry: ProviderRegistry) -> None:
    with pytest.raises(UnknownProviderError) as caught:
        registry.get("orcid")
    error = caught.value
    assert error.code == "registry.unknown"
    assert isinstance(error, KeyError)
    assert "'orcid'" in str(error)
    assert "'github', 'keycloak'" in str(error)


def test_unknown_provider_is_a_key_error_for_callers(registry: ProviderRegistry) -> None:
    with pytest.raises(KeyError):
        registry.get("nope")
    with pytest.raises(UnknownProviderError) as caught:
        ProviderRegistry().get("x")
    assert "registered providers: none" in str(caught.value)


# --- add -------------------------------------------------------------------------------------


def test_add_returns_the_registered_value() -> None:
    registry = ProviderRegistry()
    app = _app("orcid")
    assert registry.add(app) is app
    assert registry.get("orcid") is app


def test_add_disabled(registry: ProviderRegistry) -> None:
    added = registry.add(_app("orcid"), enabled=False)
    assert added.enabled is False
    assert registry.get("orcid").enabled is False
    assert registry.add(_app("cern", enabled=False), enabled=True).enabled is True


def test_add_duplicate(registry: ProviderRegistry) -> None:
    with pytest.raises(DuplicateProviderError) as caught:
        registry.add(_app("github", title="Another"))
    assert caught.value.code == "registry.duplicate"
    assert registry.get("github").title == "Github"


def test_add_duplicate_ignoring_case(registry: ProviderRegistry) -> None:
    with pytest.raises(DuplicateProviderError) as caught:
        registry.add(_app("GitHub"))
    assert "'github'" in caught.value.message
    assert "GitHub" not in registry


def test_add_requires_a_remote_app() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        ProviderRegistry().add({"name": "github", "title": "GitHub"})  # type: ignore[arg-type]
    assert caught.value.code == "config.invalid_value"


def test_initial_duplicates_are_refused() -> None:
    with pytest.raises(DuplicateProviderError):
        ProviderRegistry([_app("a"), _app("a")])


def test_bad_names_never_reach_the_registry() -> None:
    with pytest.raises(InvalidSettingError) as caught:
        _app("my provider")
    assert caught.value.key == "RemoteApp.name"


# --- update ----------------------------------------------------------------------------------


def test_update_with_changes(registry: ProviderRegistry) -> None:
    before = registry.get("github")
    after = registry.update("github", title="GitHub", scope="read:user")
    assert after == before.evolve(title="GitHub", scope="read:user")
    assert registry.get("github") is after
    assert before.title == "Github"  # values are immutable: update replaces


def test_update_with_a_new_value(registry: ProviderRegistry) -> None:
    new = _app("github", title="GitHub Enterprise")
    assert registry.update("github", new) is new
    assert registry.get("github") is new
    assert registry.names() == ["github", "keycloak"]  # keeps its place


def test_update_with_value_and_changes(registry: ProviderRegistry) -> None:
    new = registry.update("github", _app("github"), hidden=True)
    assert new.hidden is True
    assert new.title == "Github"


@pytest.mark.parametrize(
    "rename",
    [
        lambda r: r.update("github", _app("gh")),
        lambda r: r.update("github", name="gh"),
    ],
    ids=["value", "changes"],
)
def test_update_cannot_rename(registry: ProviderRegistry, rename: Any) -> None:
    before = registry.get("github")
    with pytest.raises(InvalidSettingError) as caught:
        rename(registry)
    error = caught.value
    assert error.code == "registry.rename_forbidden"
    assert "duplicate('github', 'gh')" in (error.hint or "")
    assert registry.get("github") is before
    assert "gh" not in registry


def test_update_unknown(registry: ProviderRegistry) -> None:
    with pytest.raises(UnknownProviderError):
        registry.update("orcid", title="ORCID")


def test_update_with_invalid_change_keeps_the_old_value(registry: ProviderRegistry) -> None:
    before = registry.get("github")
    with pytest.raises(InvalidSettingError) as caught:
        registry.update("github", account_url="not a url")
    assert caught.value.key == "RemoteApp('github').account_url"
    assert registry.get("github") is before


# --- remove, enable, disable -----------------------------------------------------------------


def test_remove(registry: ProviderRegistry) -> None:
    removed = registry.remove("github")
    assert removed.name == "github"
    assert "github" not in registry
    assert registry.names() == ["keycloak"]
    with pytest.raises(UnknownProviderError):
        registry.remove("github")


def test_enable_and_disable(registry: ProviderRegistry) -> None:
    assert registry.disable("github").enabled is False
    assert registry.get("github").enabled is False
    assert registry.disable("github").enabled is False  # idempotent
    assert registry.enable("github").enabled is True
    assert registry.get("github").enabled is True
    for operation in (registry.enable, registry.disable):
        with pytest.raises(UnknownProviderError):
            operation("orcid")


# --- duplicate -------------------------------------------------------------------------------


def test_duplicate_copies_every_field_but_the_name(registry: ProviderRegistry) -> None:
    original = registry.get("keycloak")
    copy = registry.duplicate("keycloak", "keycloak-test")
    assert copy.name == "keycloak-test"
    assert registry.get("keycloak-test") is copy
    assert attrs.evolve(copy, name="keycloak") == original
    assert registry.get("keycloak") is original


def test_duplicate_with_new_title_label_and_state(registry: ProviderRegistry) -> None:
    copy = registry.duplicate(
        "keycloak", "kc2", title="Keycloak (test)", label="Test realm", enabled=False
    )
    assert (copy.title, copy.label, copy.enabled) == ("Keycloak (test)", "Test realm", False)
    assert copy.client_secret == "kc-secret"


def test_duplicate_errors(registry: ProviderRegistry) -> None:
    with pytest.raises(UnknownProviderError):
        registry.duplicate("orcid", "orcid2")
    with pytest.raises(DuplicateProviderError):
        registry.duplicate("keycloak", "github")
    with pytest.raises(DuplicateProviderError):
        registry.duplicate("keycloak", "KEYCLOAK")
    with pytest.raises(InvalidSettingError) as caught:
        registry.duplicate("keycloak", "key cloak")
    assert caught.value.key == "RemoteApp.name"
    assert registry.names() == ["github", "keycloak"]


# --- visible ---------------------------------------------------------------------------------


def _hide_always() -> bool:
    return True


def _hide_never() -> bool:
    return False


def test_visible_skips_disabled_link_only_and_hidden() -> None:
    registry = ProviderRegistry(
        [
            _app("shown"),
            _app("disabled", enabled=False),
            _app("linkonly", link_only=True),
            _app("hidden", hidden=True),
            _app("hidden-now", hide_when=_hide_always),
            _app("shown-now", hide_when=_hide_never),
            _app("hidden-by-string", hide_when="builtins:object"),  # object() is truthy
            _app("shown-by-string", hide_when="builtins:bool"),  # bool() is False
        ]
    )
    names = [app.name for app in registry.visible("https://site.example.org")]
    assert names == ["shown", "shown-now", "shown-by-string"]


def test_hide_when_is_asked_at_every_call() -> None:
    state = {"hide": False}
    registry = ProviderRegistry([_app("maybe", hide_when=lambda: state["hide"])])
    assert [a.name for a in registry.visible("https://x.org")] == ["maybe"]
    state["hide"] = True
    assert registry.visible("https://x.org") == []


def test_hide_when_may_use_the_registry() -> None:
    registry = ProviderRegistry()
    registry.add(_app("solo", hide_when=lambda: len(registry) > 1))
    assert len(registry.visible("https://x.org")) == 1
    registry.add(_app("other"))
    assert [a.name for a in registry.visible("https://x.org")] == ["other"]


def test_unresolvable_hide_when(registry: ProviderRegistry) -> None:
    registry.add(_app("broken", hide_when="authkit_no_such_module:hide"))
    with pytest.raises(HandlerImportError) as caught:
        registry.visible("https://x.org")
    assert caught.value.code == "config.handler_unresolvable"
    assert "authkit_no_such_module:hide" in caught.value.message


@pytest.mark.parametrize(
    ("provider_url", "site_url", "expected"),
    [
        ("https://opal.example.org", "https://opal.example.org", True),
        ("https://opal.example.org/", "https://opal.example.org", True),
        ("https://opal.example.org", "https://opal.example.org/", True),
        ("https://OPAL.example.org", "https://opal.EXAMPLE.org", True),
        ("HTTPS://opal.example.org", "https://opal.example.org", True),
        ("https://opal.example.org:443", "https://opal.example.org", True),
        ("http://opal.example.org:80/", "http://opal.example.org", True),
        ("https://example.org/opal", "https://example.org/opal/", True),
        ("https://example.org/opal/", "https://example.org/opal/admin", True),
        ("https://example.org", "https://example.org/opal", True),
        ("https://example.org/opal", "https://example.org/opalx", False),
        ("https://example.org/opal", "https://example.org/", False),
        ("https://example.org/opal", "https://example.org/Opal", False),
        ("https://opal.example.org", "http://opal.example.org", False),
        ("https://opal.example.org", "https://opal.example.org:8443", False),
        ("https://opal.example.org", "https://intranet.example.org", False),
        ("https://a.example.org", "https://user@a.example.org", True),
    ],
)
def test_visible_public_url_matching(provider_url: str, site_url: str, expected: bool) -> None:
    registry = ProviderRegistry([_app("everywhere"), _app("scoped", public_url=provider_url)])
    names = [app.name for app in registry.visible(site_url)]
    assert names == (["everywhere", "scoped"] if expected else ["everywhere"])


def test_visible_for_opal_definition(registry: ProviderRegistry) -> None:
    assert [a.name for a in registry.visible("https://opal.example.org")] == ["github", "keycloak"]
    assert [a.name for a in registry.visible("https://other.example.org")] == ["github"]


@pytest.mark.parametrize(
    "site_url",
    ["opal.example.org", "ftp://opal.example.org", "https://x.org/?a=1", "https://x.org:99999"],
)
def test_visible_needs_a_site_url(registry: ProviderRegistry, site_url: str) -> None:
    with pytest.raises(InvalidSettingError) as caught:
        registry.visible(site_url)
    assert caught.value.key == "public_url"


# --- callback URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://site.example.org", "https://site.example.org/oauth/authorized/github/"),
        ("https://site.example.org/", "https://site.example.org/oauth/authorized/github/"),
        ("https://site.example.org//", "https://site.example.org/oauth/authorized/github/"),
        ("https://example.org/app", "https://example.org/app/oauth/authorized/github/"),
        ("https://example.org/app/", "https://example.org/app/oauth/authorized/github/"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/oauth/authorized/github/"),
    ],
)
def test_callback_url(registry: ProviderRegistry, base: str, expected: str) -> None:
    assert registry.callback_url("github", base) == expected


def test_callback_url_defaults_to_the_provider_public_url(registry: ProviderRegistry) -> None:
    assert (
        registry.callback_url("keycloak") == "https://opal.example.org/oauth/authorized/keycloak/"
    )
    with pytest.raises(MissingSettingError) as caught:
        registry.callback_url("github")
    assert caught.value.key == "RemoteApp('github').public_url"


def test_callback_url_errors(registry: ProviderRegistry) -> None:
    with pytest.raises(UnknownProviderError):
        registry.callback_url("orcid", "https://site.example.org")
    for base in ("site.example.org", "https://site.example.org/?next=/", "https://s.org/#x"):
        with pytest.raises(InvalidSettingError) as caught:
            registry.callback_url("github", base)
        assert caught.value.key == "public_base"


# --- persistence -----------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_save_and_load_round_trip(registry: ProviderRegistry, tmp_path: Path) -> None:
    registry.disable("github")
    path = tmp_path / "providers.json"
    registry.save(path)
    loaded = ProviderRegistry.load(path)
    assert loaded.names() == registry.names()
    assert list(loaded) == list(registry)
    assert loaded.get("keycloak").extra == registry.get("keycloak").extra
    assert _mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["providers.json"]


def test_save_accepts_str_paths(registry: ProviderRegistry, tmp_path: Path) -> None:
    path = str(tmp_path / "providers.json")
    registry.save(path)
    assert ProviderRegistry.load(path).names() == ["github", "keycloak"]


def test_json_round_trip(registry: ProviderRegistry) -> None:
    text = registry.to_json()
    document = json.loads(text)
    assert document["version"] == 1
    assert [p["name"] for p in document["providers"]] == ["github", "keycloak"]
    assert list(ProviderRegistry.from_json(text)) == list(registry)
    assert list(ProviderRegistry.from_json(text.encode())) == list(registry)


def test_save_without_secrets(registry: ProviderRegistry, tmp_path: Path) -> None:
    path = tmp_path / "providers.json"
    registry.save(path, secrets=False)
    text = path.read_text()
    assert "gh-secret" not in text
    assert "kc-secret" not in text
    loaded = ProviderRegistry.load(path)
    assert loaded.get("github").client_secret is None
    assert loaded.get("github") == registry.get("github").evolve(client_secret=None)
    assert "gh-secret" in registry.to_json()


def test_save_replaces_and_tightens_an_existing_file(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    path = tmp_path / "providers.json"
    path.write_text("old")
    os.chmod(path, 0o644)
    registry.save(path)
    assert _mode(path) == 0o600
    assert ProviderRegistry.load(path).names() == ["github", "keycloak"]


def test_save_into_missing_directory(registry: ProviderRegistry, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        registry.save(tmp_path / "missing" / "providers.json")
    assert caught.value.code == "registry.unwritable"


def test_failed_replace_leaves_no_temporary_file(
    registry: ProviderRegistry, tmp_path: Path
) -> None:
    target = tmp_path / "providers.json"
    target.mkdir()  # os.replace cannot put a file over a directory
    with pytest.raises(ConfigurationError) as caught:
        registry.save(target)
    assert caught.value.code == "registry.unwritable"
    assert [p.name for p in tmp_path.iterdir()] == ["providers.json"]


def test_unserialisable_hook_writes_nothing(registry: ProviderRegistry, tmp_path: Path) -> None:
    path = tmp_path / "providers.json"
    registry.save(path)
    before = path.read_bytes()
    registry.add(_app("lambda", hide_when=lambda: False))
    with pytest.raises(HandlerImportError):
        registry.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["providers.json"]


def test_unserialisable_extra(registry: ProviderRegistry) -> None:
    registry.add(_app("odd", extra={"when": object()}))
    with pytest.raises(InvalidSettingError) as caught:
        registry.to_json()
    assert caught.value.code == "registry.not_serialisable"


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ProviderRegistry.load(tmp_path / "nope.json")
    assert caught.value.code == "registry.unreadable"
    assert str(tmp_path / "nope.json") in caught.value.message


def _write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "providers.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _provider(name: str, **extra_keys: Any) -> dict[str, Any]:
    return {**_app(name).to_dict(), **extra_keys}


@pytest.mark.parametrize(
    ("content", "error", "code"),
    [
        ("{not json", InvalidSettingError, "registry.malformed"),
        (b"\xff\xfe\x00{", InvalidSettingError, "registry.malformed"),
        ([], InvalidSettingError, "registry.malformed"),
        ({"version": 1, "providers": {}}, InvalidSettingError, "registry.malformed"),
        ({"version": 2, "providers": []}, InvalidSettingError, "registry.unsupported_version"),
        ({"providers": []}, InvalidSettingError, "registry.unsupported_version"),
        ({"version": 1, "providers": [], "x": 1}, UnknownSettingError, "config.unknown_key"),
        ({"version": 1, "providers": ["github"]}, InvalidSettingError, "config.invalid_value"),
    ],
)
def test_load_bad_file(tmp_path: Path, content: Any, error: type[Exception], code: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(error) as caught:
        ProviderRegistry.load(path)
    assert isinstance(caught.value, ConfigurationError)
    assert caught.value.code == code
    assert str(path) in str(caught.value)


def test_load_unknown_key_in_a_stored_provider(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"version": 1, "providers": [_provider("github"), _provider("orcid", colour="green")]},
    )
    with pytest.raises(UnknownSettingError) as caught:
        ProviderRegistry.load(path)
    error = caught.value
    assert error.code == "config.unknown_key"
    assert "'colour'" in error.message
    assert f"{path}: providers[1]" in error.message
    assert error.key == "RemoteApp('orcid')"


def test_load_invalid_value_in_a_stored_provider(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": 1, "providers": [_provider("github", enabled="yes")]})
    with pytest.raises(InvalidSettingError) as caught:
        ProviderRegistry.load(path)
    assert caught.value.key == "RemoteApp('github').enabled"
    assert "providers[0]" in caught.value.message


def test_load_duplicate_names(tmp_path: Path) -> None:
    path = _write(tmp_path, {"version": 1, "providers": [_provider("a"), _provider("A")]})
    with pytest.raises(DuplicateProviderError) as caught:
        ProviderRegistry.load(path)
    assert "providers[1]" in caught.value.message


# --- threads ---------------------------------------------------------------------------------


def test_concurrent_adds_of_one_name_have_one_winner() -> None:
    registry = ProviderRegistry()
    threads = 16
    barrier = threading.Barrier(threads)
    winners: list[str] = []
    losers: list[Exception] = []

    def contender(index: int) -> None:
        app = _app("shared", title=f"Contender {index}")
        barrier.wait()
        try:
            registry.add(app)
        except DuplicateProviderError as exc:
            losers.append(exc)
        else:
            winners.append(app.title)

    workers = [threading.Thread(target=contender, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(winners) == 1
    assert len(losers) == threads - 1
    assert registry.get("shared").title == winners[0]


def test_concurrent_operations_lose_nothing() -> None:
    registry = ProviderRegistry([_app("base")])
    threads = 8
    barrier = threading.Barrier(threads)

    def worker(index: int) -> None:
        barrier.wait()
        for round_ in range(25):
            registry.add(_app(f"p{index}-{round_}"))
            registry.duplicate(f"p{index}-{round_}", f"d{index}-{round_}")
            registry.update("base", description=f"{index}-{round_}")
            registry.remove(f"p{index}-{round_}")

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert len(registry) == 1 + threads * 25
    assert sorted(registry.names()) == sorted(
        ["base"] + [f"d{i}-{r}" for i in range(threads) for r in range(25)]
    )
