"""Every provider how-to's configuration snippet runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from authkit.config import RemoteApp

HOWTO = Path(__file__).resolve().parents[1] / "docs" / "howto"
PAGES = sorted(p for p in HOWTO.glob("*.md") if p.name != "index.md")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_configuration_snippet_builds_a_remote_app(page: Path) -> None:
    text = page.read_text()
    section = text.split("## Configure authkit", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(page), "exec"), namespace)  # noqa: S102 - our own docs
    assert isinstance(namespace["app"], RemoteApp)


def test_every_page_is_listed() -> None:
    index = (HOWTO / "index.md").read_text()
    for page in PAGES:
        assert f"\n{page.stem}\n" in index
