"""Readouts of the selected item: PSNR/SSIM against the ground truth (whole image and on screen),
or, without ground truth, sizes, model, device, time and the LR-consistency check; in both modes the
no-reference NIQE of each picture shown (SR, bicubic and, with ground truth, HR).

Figures are formatted as ``srgan-eval`` prints them (PSNR 2 decimals, SSIM 4, NIQE 3), from numbers
computed by ``trainer.metrics`` and ``trainer.niqe`` in the job's worker (see
:mod:`trainer.app.analysis`). Region figures are recomputed in a worker a moment after the view
stops moving, for the part of the image on screen.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from srgan_desktop.state.comparison_state import ComparisonState
from srgan_desktop.worker import WorkerHandle, make_worker
from trainer.app.analysis import HEATMAP_VMAX, NIQE_MAX_PIXELS, Scores, clip_region, region_scores
from trainer.app.jobs import ItemResult

COLUMNS = ("Method", "PSNR", "SSIM", "PSNR view", "SSIM view", "NIQE")
HR_LABEL = "HR (ground truth)"
NIQE_NOTE = (f"NIQE: no-reference naturalness of the whole picture, lower is better; n/a under 192 pixels a side "
             f"or above {NIQE_MAX_PIXELS / 1e6:.0f} megapixels.")
REGION_DELAY_MS = 250


def fmt_psnr(value: float | None) -> str:
    if value is None:
        return "–"
    return "∞" if math.isinf(value) else f"{value:.2f}"


def fmt_ssim(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def fmt_niqe(value: float | None) -> str:
    """NIQE as ``srgan-eval --niqe`` prints it; "n/a" when the image has none (too small or too large)."""
    return "n/a" if value is None else f"{value:.3f}"


def method_rows(result: ItemResult) -> list[tuple[str, str]]:
    """(layer key, label) of the results compared with the ground truth, in display order."""
    rows = [("bicubic", "Bicubic")]
    for key in ("sr", "sr2"):
        if key in result.models:
            rows.append((key, f"SR: {result.models[key]}"))
    return rows


def info_lines(result: ItemResult) -> list[str]:
    """The non-metric readouts (sizes, model, device, time, consistency, output)."""
    w, h = result.input_size
    ow, oh = result.output_size
    lines = []
    if result.evaluate:
        gw, gh = result.original_size
        lines.append(f"Ground truth {gw}×{gh} → LR input {w}×{h} (protocol bicubic) → x{result.scale} = {ow}×{oh}")
    else:
        if (ow, oh) == (w * result.scale, h * result.scale):
            lines.append(f"Input {w}×{h} → output {ow}×{oh} (x{result.scale})")
        else:  # an output size other than the model's scale: the model's output was resampled
            lines.append(f"Input {w}×{h} → model x{result.scale} → saved {ow}×{oh} (resampled, Lanczos)")
    for key, name in result.models.items():
        secs = result.seconds.get(key)
        parts = [f"Model {name}"]
        if result.device:
            parts.append(f"device {result.device}")
        if result.precision:
            parts.append(result.precision)  # what ran (after any fallback), not what was asked
        if getattr(result, "backend", ""):
            parts.append(result.backend)  # torch or openvino: after any fallback too
        if secs is not None:
            parts.append(f"{secs:.2f} s per image")
        if result.tile_size:
            parts.append(f"tiles {result.tile_size}px")
        lines.append(" · ".join(parts))
    if not result.models:
        lines.append("No model: bicubic baseline only")
    if result.niqe and not result.has_ground_truth:  # with ground truth the table has a NIQE column
        rows = [(k, label) for k, label in method_rows(result) if k in result.niqe]
        figures = " · ".join(f"{label} {fmt_niqe(result.niqe[k])}" for k, label in rows)
        lines.append(f"NIQE (no reference; lower = more natural): {figures}")
        if any(result.niqe[k] is None for k, _ in rows):
            lines.append(NIQE_NOTE)
    for key, value in result.consistency.items():
        lines.append(f"LR consistency of {result.models.get(key, key)}: {fmt_psnr(value)} dB "
                     "(result shrunk back vs the LR input; high = no invented content that contradicts the input)")
    if result.error_of:
        lines.append(f"Error map: |{'SR' if result.error_of != 'bicubic' else 'bicubic'} − HR| on Y, black 0 → yellow ≥ {HEATMAP_VMAX:.0f}")
    if result.output is not None:
        lines.append(f"Saved to {result.output}")
    elif not result.evaluate and result.models:
        lines.append("Not saved")
    return lines


class ReadoutPanel(QWidget):
    """Shows one :class:`ItemResult` and its on-screen region figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("No result selected", self)
        self.legend = QLabel("PSNR in dB, SSIM; Y channel, border of 'scale' pixels shaved (paper protocol). "
                             f"'view' = the part of the image on screen. {NIQE_NOTE}", self)
        self.legend.setWordWrap(True)
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels([c.replace(" ", "\n") for c in COLUMNS])  # narrow: fits a side dock
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.info = QLabel(self)
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.info.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.table)
        layout.addWidget(self.legend)
        layout.addWidget(self.info)
        layout.addStretch(1)
        self.result: ItemResult | None = None
        self.region: dict[str, Scores] | None = None
        self.show_result(None)

    def show_result(self, result: ItemResult | None) -> None:
        self.result, self.region = result, None
        if result is None:
            self.title.setText("No result selected: drop images, then select one in the queue")
            self.table.setRowCount(0)
            self.table.hide()
            self.legend.hide()
            self.info.setText("")
            return
        mode = "Evaluation against the ground truth" if result.has_ground_truth else "Upscaled"
        self.title.setText(f"<b>{mode}</b>: {result.source.name}")
        self.table.setVisible(result.has_ground_truth)
        self.legend.setVisible(result.has_ground_truth)
        self.info.setText("\n".join(info_lines(result)))
        self._fill_table()

    def set_region(self, scores: dict[str, Scores] | None) -> None:
        self.region = scores
        self._fill_table()

    def _fill_table(self) -> None:
        result = self.result
        if result is None or not result.has_ground_truth:
            self.table.setRowCount(0)
            return
        rows = [r for r in method_rows(result) if r[0] in result.scores]
        if "hr" in result.niqe:  # the ground truth's own NIQE: the level a result can aim for
            rows.append(("hr", HR_LABEL))
        self.table.setRowCount(len(rows))
        for i, (key, label) in enumerate(rows):
            whole = result.scores.get(key)
            region = (self.region or {}).get(key)
            cells = (label, fmt_psnr(whole.psnr if whole else None), fmt_ssim(whole.ssim if whole else None),
                     fmt_psnr(region.psnr if region else None), fmt_ssim(region.ssim if region else None),
                     fmt_niqe(result.niqe[key]) if key in result.niqe else "–")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{label}: {COLUMNS[j]} {text}" if j else label)
                if j:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, item)
        self.table.setFixedHeight(self.table.horizontalHeader().height() + 4 + sum(self.table.rowHeight(r) for r in range(len(rows))))
        # As wide as its texts need (the method names, e.g. "SR: srresnet_x4", are never cut): below
        # that, the dock's scroll area scrolls sideways instead.
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        label_width = max([self.table.fontMetrics().horizontalAdvance(label) for _, label in rows] + [0]) + 16
        needed = max(label_width, header.sectionSizeHint(0)) + sum(header.sectionSize(c) for c in range(1, len(COLUMNS)))
        self.table.setMinimumWidth(needed + 2 * self.table.frameWidth())

    def cell(self, label_start: str, column: str) -> str:
        """Text shown for a method row (label starting with ``label_start``) and column (tests)."""
        col = COLUMNS.index(column)
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text().startswith(label_start):
                return self.table.item(r, col).text()
        raise KeyError(label_start)


class RegionMetrics(QObject):
    """Recomputes the on-screen figures in a worker when the view settles.

    ``updated(object)`` carries ``dict[key, Scores]`` (or None when the region is too small).
    """

    updated = Signal(object)

    def __init__(self, state: ComparisonState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.result: ItemResult | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REGION_DELAY_MS)
        self._timer.timeout.connect(self._compute)
        self._handle: WorkerHandle | None = None
        self._last_rect: tuple | None = None
        state.changed.connect(self._schedule)

    def set_result(self, result: ItemResult | None) -> None:
        self.result = result
        self._last_rect = None
        if self._handle is not None:  # figures of the previous result are no longer wanted
            self._handle.abort()
            self._handle = None
        self._schedule()

    @property
    def pending(self) -> bool:
        return self._timer.isActive() or self._handle is not None

    def _schedule(self) -> None:
        if self.result is not None and self.result.has_ground_truth:
            self._timer.start()

    def _inputs(self):
        r = self.result
        hr = r.layers["hr"].pixels
        results = {k: r.layers[k].pixels for k, _ in method_rows(r) if k in r.layers}
        return hr, results

    @Slot()
    def _compute(self) -> None:
        r = self.result
        if r is None or not r.has_ground_truth:
            return
        rect = self.state.visible_rect()
        hr, results = self._inputs()
        box = clip_region(rect, (hr.shape[1], hr.shape[0]), r.scale)
        key = (id(r), box, tuple(results))
        if key == self._last_rect:
            return
        self._last_rect = key
        if box == (r.scale, r.scale, hr.shape[1] - r.scale, hr.shape[0] - r.scale):
            # The whole (shaved) image is on screen: by construction the figures are the whole-image ones.
            self.updated.emit({k: v for k, v in r.scores.items() if k in results})
            return
        if self._handle is not None:
            self._handle.abort()  # its result, if any, is ignored (sender check below)
        handle = make_worker(region_scores, hr, results, rect, r.scale)
        handle.connect("returned", lambda scores, h=handle: self._on_returned(h, scores))
        handle.connect("finished", lambda h=handle: self._on_finished(h))
        self._handle = handle.start()

    def _on_returned(self, handle: WorkerHandle, scores: object) -> None:
        if handle is self._handle:  # a stale computation (view or item changed since) is ignored
            self.updated.emit(scores)

    def _on_finished(self, handle: WorkerHandle) -> None:
        if handle is self._handle:
            self._handle = None
            self._timer.start()  # the view may have moved while computing: check again
