"""Layering rules of the core, checked in fresh interpreters and on the source, not by review."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint(','.join(sorted({{n.split('.')[0] for n in sys.modules}} | set(n for n in sys.modules if n.startswith('trainer.')))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.strip().split(","))


def test_config_does_not_import_the_training_package():
    loaded = _loaded_after("import trainer.config")
    assert "trainer.train" not in loaded and "torch" not in loaded, sorted(n for n in loaded if n.startswith("trainer"))


def test_light_core_modules_import_no_torch_numpy_or_pillow():
    # What the desktop app imports at start-up instead of keeping copies of constants.
    loaded = _loaded_after(
        "import trainer.choices, trainer.atomic, trainer.errors, trainer.loaded_model, trainer.naming, trainer.paths"
    )
    assert not {"torch", "numpy", "PIL"} & loaded, sorted({"torch", "numpy", "PIL"} & loaded)


def test_imageio_is_one_package():
    assert (ROOT / "trainer" / "imageio" / "__init__.py").is_file()
    assert not list((ROOT / "trainer").glob("imageio*.py"))


def test_events_are_dispatched_by_type_not_by_name():
    pattern = re.compile(r"__name__\s*(==|!=|in\b)|==\s*type\(\w+\)\.__name__")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("trainer", "srgan_desktop")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "__main__" not in line
    ]
    assert not offenders, offenders
