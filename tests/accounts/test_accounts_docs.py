"""The ```python blocks of the accounts pages run as written (each page top to bottom, in one
namespace, as the pages say)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ("precedence-masks.md", "signup-and-linking.md", "login-policies.md")


def blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


@pytest.mark.parametrize("page", PAGES)
def test_page_runs(page: str, capsys: pytest.CaptureFixture[str]) -> None:
    found = blocks(page)
    assert len(found) >= 5
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('-', '_')}"}
    for index, block in enumerate(found):
        code = compile(block, f"{page}[block {index}]", "exec")
        exec(code, namespace)  # noqa: S102 - our own documentation
