"""Every ```python block of docs/stores.md runs as written (fresh namespace).

Blocks that need a PostgreSQL or Redis server are fenced as ```py on the page and not run here;
the contract suites cover those stores.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "stores.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", DOC.read_text(encoding="utf-8"), re.M | re.S)


def test_the_page_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_stores_doc_block_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = compile(BLOCKS[index], f"{DOC.name}[block {index}]", "exec")
    exec(code, {"__name__": f"stores_doc_{index}"})  # noqa: S102 - our own documentation


def test_the_printed_results_are_the_ones_the_page_states(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ttl_block = next(b for b in BLOCKS if "invalid_ttl" in b)
    exec(compile(ttl_block, "ttl", "exec"), {})  # noqa: S102
    assert capsys.readouterr().out.split() == ["store.invalid_value", "store.invalid_ttl"]
    count_block = next(b for b in BLOCKS if "count_statements" in b)
    exec(compile(count_block, "count", "exec"), {})  # noqa: S102
    first, total = capsys.readouterr().out.splitlines()
    assert first.startswith("SELECT")
    assert "FROM authkit_identities" in first
    assert total == "4"
