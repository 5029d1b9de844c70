"""Live training curves with pyqtgraph, drawn from a :class:`LossHistory`.

Each curve is created once, the first time its series appears, and later only gets ``setData``.
Curves downsample automatically and clip to the visible range, so a million-step run redraws as
fast as a short one; :meth:`TrainingPlots.refresh` does nothing when the history has not changed,
and the monitor calls it from a timer (a few times a second), never per event.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGridLayout, QWidget

from trainer.train.support.run_state import DISCRIMINATOR_LOSSES, GENERATOR_LOSSES, LossHistory

# (plot key, title, y label, series in that plot)
PLOTS = (
    ("g", "Generator losses", "loss", GENERATOR_LOSSES),
    ("d", "Discriminator", "loss", DISCRIMINATOR_LOSSES),
    ("lr", "Learning rate", "lr", ("lr", "lr_d")),
    ("psnr", "Validation PSNR", "dB", ("psnr", "blend_psnr")),
    ("ssim", "Validation SSIM", "", ("ssim", "blend_ssim")),
)
LABELS = {"g_total": "total", "g_pixel": "pixel", "g_lattice": "lattice", "g_phase": "dot lattice", "g_content": "content (VGG)", "g_feature": "D features", "g_adversarial": "adversarial",
          "d_total": "total", "d_real": "real", "d_fake": "fake", "d_gp": "gradient penalty",
          "lr": "generator", "lr_d": "discriminator", "psnr": "model", "ssim": "model",
          "blend_psnr": "as shipped (blend)", "blend_ssim": "as shipped (blend)"}
COLOURS = {"g_total": (200, 200, 200), "g_pixel": (66, 133, 244), "g_lattice": (155, 89, 182), "g_phase": (255, 112, 67), "g_content": (52, 168, 83), "g_feature": (0, 172, 193),
           "g_adversarial": (234, 67, 53), "d_total": (200, 200, 200), "d_real": (52, 168, 83),
           "d_fake": (234, 67, 53), "d_gp": (251, 188, 5), "lr": (66, 133, 244), "lr_d": (234, 67, 53),
           "psnr": (66, 133, 244), "ssim": (66, 133, 244), "blend_psnr": (251, 140, 0), "blend_ssim": (251, 140, 0)}
GRID = {"g": (0, 0, 1), "d": (0, 1, 1), "lr": (0, 2, 1), "psnr": (1, 0, 2), "ssim": (1, 2, 1)}  # row, column, span
REFERENCE_PEN = pg.mkPen((160, 160, 160), width=1, style=pg.QtCore.Qt.PenStyle.DashLine)


class TrainingPlots(QWidget):
    """Five plots: generator losses, discriminator, learning rate, validation PSNR and SSIM (with
    the bicubic level as a dashed reference line). ``curves[name]`` holds the curve of a series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.references: dict[str, pg.InfiniteLine] = {}
        self._phase_lines: list[tuple[str, pg.InfiniteLine]] = []
        self._phase_starts: list[tuple[int, str]] = []
        self._version = -1
        self._owner = {name: key for key, _, _, names in PLOTS for name in names}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        for i, (key, title, unit, _) in enumerate(PLOTS):
            w = pg.PlotWidget(self, background=background)
            item = w.getPlotItem()
            item.setTitle(title, color=foreground, size="9pt")
            item.showGrid(x=True, y=True, alpha=0.2)
            item.setLabel("bottom", "step")
            if unit:
                item.setLabel("left", unit)
            item.addLegend(offset=(-5, 5), labelTextColor=foreground, labelTextSize="8pt")
            item.setMenuEnabled(True)  # right click: log scale, export
            w.setMinimumSize(220, 150)
            self.plots[key] = w
            row, col, span = GRID[key]
            grid.addWidget(w, row, col, 1, span)
        for key in ("psnr", "ssim"):
            line = pg.InfiniteLine(angle=0, movable=False, pen=REFERENCE_PEN, label="bicubic",
                                   labelOpts={"position": 0.02, "color": (140, 140, 140), "anchors": [(0, 0), (0, 0)]})
            line.hide()
            self.plots[key].addItem(line)
            self.references[key] = line
        self.plots["psnr"].getPlotItem().legend.addItem(pg.PlotDataItem(pen=REFERENCE_PEN), "bicubic")
        self.empty_d = pg.TextItem("no discriminator in this phase", color=(140, 140, 140), anchor=(0.5, 0.5))
        self.empty_d.setPos(0.5, 0.5)
        self.plots["d"].addItem(self.empty_d, ignoreBounds=True)

    def _curve(self, name: str) -> pg.PlotDataItem:
        curve = self.curves.get(name)
        if curve is None:
            plot = self.plots[self._owner.get(name, "g")]
            colour = COLOURS.get(name, (150, 100, 220))
            symbol = "o" if self._owner.get(name) in ("psnr", "ssim") else None  # validations: a point each
            curve = plot.plot(name=LABELS.get(name, name), pen=pg.mkPen(colour, width=1.5), symbol=symbol,
                              symbolSize=5, symbolBrush=colour, symbolPen=None, connect="finite")
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.curves[name] = curve
        return curve

    def refresh(self, history: LossHistory) -> bool:
        """Redraw from ``history`` when it changed since the last call; returns whether it did."""
        if history.version == self._version:
            return False
        self._version = history.version
        for name, series in history.series.items():
            if len(series) and _shown(name, history):
                # Copies: pyqtgraph keeps the arrays, the history keeps growing in place.
                self._curve(name).setData(series.x.copy(), series.y.copy())
        self.empty_d.setVisible(not any(n in self.curves for n in DISCRIMINATOR_LOSSES))
        for key, level, unit in (("psnr", history.bicubic_psnr, " dB"), ("ssim", history.bicubic_ssim, "")):
            line = self.references[key]
            if level is not None and level == level:  # not NaN
                line.setValue(level)
                line.label.setFormat(f"bicubic {level:.4g}{unit}")
                line.show()
        self._draw_phases(history)
        return True

    def _draw_phases(self, history: LossHistory) -> None:
        starts = [(s, n) for s, n in history.phases if s > 0]  # the first phase needs no divider
        if starts == self._phase_starts:
            return
        self._remove_phase_lines()
        self._phase_starts = starts
        for step, name in starts:
            for key in ("g", "d", "lr"):
                line = pg.InfiniteLine(pos=step, angle=90, movable=False, pen=REFERENCE_PEN,
                                       label=name, labelOpts={"position": 0.9, "color": (160, 160, 160)})
                self.plots[key].addItem(line)
                self._phase_lines.append((key, line))

    def _remove_phase_lines(self) -> None:
        for key, line in self._phase_lines:
            self.plots[key].removeItem(line)
        self._phase_lines = []
        self._phase_starts = []

    def clear(self) -> None:
        """Remove every curve (another run is shown)."""
        for name, curve in self.curves.items():
            self.plots[self._owner.get(name, "g")].removeItem(curve)
        self.curves = {}
        self.empty_d.show()
        for line in self.references.values():
            line.hide()
        self._remove_phase_lines()
        self._version = -1


def _shown(name: str, history: LossHistory) -> bool:
    """A total equal to its only term would hide that term's curve: totals are drawn only when
    the sum has several terms. Diagnostics stay in the log, off the plots: the discriminator's mean
    logits (-5..10) and the PSNR budget's multiplier and gap (1..64, dB) would flatten every loss curve."""
    if name.endswith("_logit") or name.startswith("budget_"):
        return False
    if name == "g_total":
        return sum(n in history.series for n in GENERATOR_LOSSES[1:]) > 1
    if name == "d_total":
        return not any(n in history.series for n in DISCRIMINATOR_LOSSES[1:])
    return True
