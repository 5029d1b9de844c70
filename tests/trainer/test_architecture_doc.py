"""docs/ARCHITECTURE.md stays true: every path it names in backticks exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ARCHITECTURE.md"
# `trainer/app/`, `srgan_desktop/worker.py`: a backticked token without spaces ending in .py or /.
PATH_RE = re.compile(r"`([^`\s]+(?:\.py|/))`")


def named_paths(text: str) -> list[str]:
    return sorted(set(PATH_RE.findall(text)))


def test_the_reader_finds_paths_and_only_paths():
    text = "see `trainer/app/`, `a/b.py` and `trainer.app.jobs`, `x.py y`, ``"
    assert named_paths(text) == ["a/b.py", "trainer/app/"]


def test_every_path_in_the_architecture_doc_exists():
    paths = named_paths(DOC.read_text(encoding="utf-8"))
    assert len(paths) > 20, "the page names the places where code lives"
    missing = [p for p in paths if not ((ROOT / p).is_dir() if p.endswith("/") else (ROOT / p).is_file())]
    assert missing == [], f"docs/ARCHITECTURE.md names paths that do not exist: {missing}"
