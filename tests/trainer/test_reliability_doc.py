"""docs/RELIABILITY.md names the tests that prove each promise: every one of them must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.name.startswith("test")}


def test_every_test_named_in_reliability_md_exists():
    text = (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) >= 20  # the five promises, each with its tests
    missing = [f"{f}::{t}" for f, t in named if not (ROOT / f).is_file() or t not in _tests_in(ROOT / f)]
    assert not missing, f"docs/RELIABILITY.md names tests that do not exist: {missing}"
    for promise in ("Inputs are never modified", "Outputs are atomic", "One bad file never stops the batch",
                    "Resume is exact", "Model files are data"):
        assert promise in text
