"""The examples of docs/python.md that are meant to run, run (so the documentation cannot rot)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def section(title: str) -> str:
    text = DOCS.read_text("utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_privacy_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", section("Privacy, data-subject rights and audit"), re.S)
    assert len(blocks) == 5
    monkeypatch.chdir(tmp_path)  # the export lands here
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), namespace)
    assert (tmp_path / "acme-export.json").stat().st_size > 0
    assert [r.account_id for r in namespace["erased"].completed] == [namespace["account"].id]
