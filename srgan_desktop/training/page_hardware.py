"""Wizard page 4: device and precision, with a short speed probe and the estimated duration."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout

from srgan_desktop.training.page_base import DraftPage, draft_value
from srgan_desktop.training.widgets import add_field, help_label, row
from srgan_desktop.worker import make_worker
from trainer.train.support.estimate import Estimate, describe, estimate, phase_plans
from trainer.train.support.probe import ProbeProgress, ProbeResult, probe_speed, seconds_per_step
from trainer.train.support.run_state import format_duration

PRECISION_TEXT = {
    "auto": "auto (half precision on a GPU, full on the CPU)",
    "fp32": "fp32 (full precision: slowest, never overflows)",
    "fp16": "fp16 (half precision: fast on GPUs, needs loss scaling)",
    "bf16": "bf16 (half precision with a wide range: recent GPUs)",
}


class HardwarePage(DraftPage):
    """Device, precision and CPU threads; "Measure speed" probes a few steps of every phase."""

    page_name = "hardware"

    def __init__(self, owner) -> None:  # noqa: ANN001
        super().__init__(owner)
        self.setTitle("Hardware")
        self.setSubTitle("Where the training runs. A graphics card (CUDA or Apple MPS) is 10–100× faster than the CPU.")
        self.result: ProbeResult | None = None
        self.probe_error = ""
        self._probe = None
        self._probe_key: tuple | None = None
        self.device = QComboBox(self)
        self.precision = QComboBox(self)
        for key, text in PRECISION_TEXT.items():
            self.precision.addItem(text, key)
        self.threads = QSpinBox(self)
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("automatic")
        self.measure = QPushButton("Measure speed", self)
        self.measure.clicked.connect(self.start_probe)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.speed = QLabel("", self)
        self.speed.setWordWrap(True)
        self.estimate = QLabel("", self)
        self.estimate.setWordWrap(True)
        font = self.estimate.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        font.setBold(True)
        self.estimate.setFont(font)

        form = QFormLayout()
        add_field(form, "Device", self.device, "'auto' picks the graphics card when there is one.")
        add_field(form, "Precision", self.precision, "Half precision roughly doubles the speed on graphics cards.")
        add_field(form, "CPU threads", self.threads, "Only for the CPU: how many cores torch may use.")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row(self.measure, self.progress))
        layout.addWidget(help_label("The probe runs a few real training steps of each phase on generated images "
                                    "(the time to read your images is not included).", self))
        layout.addWidget(self.speed)
        layout.addWidget(self.estimate)
        layout.addWidget(self.problem_box)
        layout.addStretch(1)
        self.device.currentTextChanged.connect(lambda v: self.set_value("runtime.device", v))
        self.precision.currentIndexChanged.connect(lambda _i: self.set_value("runtime.precision", self.precision.currentData()))
        self.threads.valueChanged.connect(lambda v: self.set_value("runtime.threads", v))

    def load(self) -> None:
        from trainer.device import available_devices

        d = self.draft
        self.device.clear()
        self.device.addItems(available_devices())
        device = str(draft_value(d, "runtime.device"))
        if self.device.findText(device) < 0:
            self.device.addItem(device)
        self.device.setCurrentText(device)
        self.precision.setCurrentIndex(max(0, self.precision.findData(draft_value(d, "runtime.precision"))))
        self.threads.setValue(int(draft_value(d, "runtime.threads")))

    def initializePage(self) -> None:  # noqa: N802
        super().initializePage()
        if self.owner.auto_probe and self._key() != self._probe_key and not self.problems:
            self.start_probe()

    def _key(self) -> tuple | None:
        """What the probe's figures depend on (a change makes them stale)."""
        try:
            c = self.draft.build()
        except Exception:  # noqa: BLE001 - invalid drafts are reported by refresh()
            return None
        phases = tuple((p.name, p.content.type, p.adversarial.type, repr(p.discriminator)) for p in c.phases)
        return (c.model.arch, repr(c.model.hparams), c.data.scale, c.data.crop, c.data.batch_size,
                c.runtime.device, c.runtime.precision, c.runtime.threads, phases)

    def start_probe(self) -> None:
        """Measure seconds per 100 steps in a worker (a running probe is abandoned)."""
        if self._probe is not None:
            self._probe.abort()
        try:
            config = self.draft.build()
        except Exception as exc:  # noqa: BLE001
            self.speed.setText(f"Cannot measure: {exc}")
            return
        self.result, self.probe_error = None, ""
        self._probe_key = self._key()
        self.progress.show()
        self.speed.setText("Measuring…")
        self.estimate.setText("")
        handle = make_worker(probe_speed, config, cancel_kwarg="cancel")
        handle.connect("yielded", lambda ev, h=handle: self._on_probe(h, ev))
        handle.connect("errored", lambda text, h=handle: self._on_probe_error(h, text))
        self._probe = handle
        handle.start()

    def _on_probe(self, handle, event) -> None:  # noqa: ANN001
        if handle is not self._probe:
            return
        if isinstance(event, ProbeProgress):
            self.speed.setText(f"Measuring phase {event.phase} ({event.index + 1} of {event.count})…")
        elif isinstance(event, ProbeResult):
            self._probe = None
            self.progress.hide()
            self.result = event
            self.changed()

    def _on_probe_error(self, handle, text: str) -> None:  # noqa: ANN001
        if handle is not self._probe:
            return
        self._probe = None
        self.progress.hide()
        self.probe_error = text
        self.speed.setText(f"The probe failed: {text}")
        self.estimate.setText("")

    def changed(self) -> None:
        r = self.result
        if r is None or self._key() != self._probe_key:
            if r is not None:
                self.speed.setText("The settings changed since the last measurement: measure again.")
                self.estimate.setText("")
            return
        lines = [f"{name}: {sec:.1f} s per 100 steps" for name, sec in r.seconds_per_100.items()]
        self.speed.setText(f"On {r.device} (measured): " + "; ".join(lines))
        est = self.run_estimate()
        self.estimate.setText(f"Estimated training time: {describe(est, format_duration(est.seconds))}" if est else "")

    def run_estimate(self) -> Estimate | None:
        """The run's duration from the probe's measured speed of each phase and the phases' time
        limits (None until measured for the current settings)."""
        if self.result is None or self._key() != self._probe_key:
            return None
        try:
            config = self.draft.build()
        except Exception:  # noqa: BLE001
            return None
        est = estimate(phase_plans(config), seconds_per_step(self.result))
        return est if est.known else None

    def cleanup(self) -> None:
        """Abandon a running probe (the wizard closes)."""
        if self._probe is not None:
            self._probe.abort()
            self._probe = None
