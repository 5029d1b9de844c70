"""What every wizard page shares: the draft it edits, its problem box and completeness."""

from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtWidgets import QWizardPage

from srgan_desktop.training.widgets import ProblemBox
from trainer.train.support.config_draft import ConfigDraft, Problem


def draft_value(draft: ConfigDraft, key: str) -> Any:
    """The current value of a dotted field: the user's override, else the recipe's value."""
    if key in draft.overrides:
        return draft.overrides[key]
    node: Any = draft.base
    for part in key.split("."):
        if isinstance(node, tuple):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node[part]
        else:
            node = getattr(node, part)
    return node


class DraftPage(QWizardPage):
    """A page editing ``owner.draft`` (the wizard may swap the draft when a config is loaded).

    Subclasses set ``page_name`` (one of ``config_draft.PAGES``), build their widgets, implement
    :meth:`load` (widgets from the draft) and may add :meth:`extra_problems` / :meth:`ready`.
    """

    page_name = ""

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.owner = owner
        self.problem_box = ProblemBox(self.fixes())
        self.problems: list[Problem] = []
        self._loading = False

    @property
    def draft(self) -> ConfigDraft:
        return self.owner.draft

    def fixes(self) -> dict:
        """Fix buttons this page offers: ``{fix name: (label, callback)}``."""
        return {}

    def initializePage(self) -> None:  # noqa: N802
        # A Qt virtual: an exception escaping into Qt here can leave PySide in a bad state, so a
        # bug becomes a message on the page (and a traceback on stderr) instead.
        self._loading = True
        try:
            self.load()
            self._loading = False
            self.refresh()
        except Exception as exc:  # noqa: BLE001
            traceback.print_exc()
            self.problems = [Problem(self.page_name, "", f"Internal error on this page: {exc}")]
            self.problem_box.show_problems(self.problems)
        finally:
            self._loading = False

    def load(self) -> None:
        """Set the widgets from the draft."""

    def extra_problems(self) -> list[Problem]:
        """Problems only this page knows about (beyond the draft's own checks)."""
        return []

    def ready(self) -> bool:
        """False while the page is still working out something (e.g. scanning the data)."""
        return True

    def set_value(self, key: str, value: Any) -> None:
        """Widget -> draft (ignored while :meth:`load` fills the widgets)."""
        if self._loading:
            return
        self.draft.set(key, value)
        self.refresh()

    def refresh(self) -> None:
        """Re-check the draft, show this page's problems, update the Next/Finish button."""
        self.problems = self.draft.problems(self.page_name) + self.extra_problems()
        self.problem_box.show_problems(self.problems)
        self.changed()
        self.completeChanged.emit()

    def changed(self) -> None:
        """Hook: the draft changed (update derived labels)."""

    def isComplete(self) -> bool:  # noqa: N802
        return not self.problems and self.ready()
