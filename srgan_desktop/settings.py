"""User settings remembered across launches: a plain dataclass plus its ``QSettings`` storage.

Widgets are built from an :class:`AppSettings` and write their changes back into it; the main
window saves it (with the window geometry and dock layout) when it closes. Reading is forgiving:
a missing or malformed value falls back to the default instead of stopping the application.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from trainer.choices import BACKENDS, FORMAT_CHOICES, PRECISIONS
from trainer.naming import DEFAULT_TEMPLATE
from trainer.pipeline.outsize import OutputSize

ORGANIZATION = "SRGAN Desktop"
APPLICATION = "srgan-desktop"
# From the core's light modules (standard library only, no torch): never copies.
FORMATS = FORMAT_CHOICES  # "same": the input's decoded format when writable (HEIC, AVIF: JPEG), else PNG
THEMES = ("system", "light", "dark")
TILE_MIN, TILE_MAX = 32, 4096  # the tile-size setting's range (0 = automatic)
# Output sizes the options panel offers: the model's scale, factors, or a width/height in pixels.
OUT_SIZES = ("model", "x2", "x3", "x4", "x8", "width", "height")
OUT_PIXELS_MIN, OUT_PIXELS_MAX, OUT_PIXELS_DEFAULT = 16, 65535, 1920


def default_output_dir() -> str:
    """``~/Pictures/SRGAN Desktop``: outside every input folder, so a re-dropped folder does not
    pick up its own results and no original is ever in the way."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    base = Path(pictures) if pictures else Path.home() / "Pictures"
    return str(base / "SRGAN Desktop")


@dataclass
class AppSettings:
    """Everything the user chooses once and expects to find again.

    ``model`` / ``compare_model`` are zoo names or file paths ("" = the default / none); ``model``
    may also be ``"auto"`` (the default: a model per file, see ``trainer.pipeline.models``).
    ``out_size`` is one of :data:`OUT_SIZES`; ``out_pixels`` the width or height for those choices.
    """

    model: str = "auto"
    compare_model: str = ""
    device: str = "auto"
    precision: str = "auto"
    backend: str = "auto"  # what runs the network on the CPU (trainer.choices.BACKENDS), as srgan-upscale --backend
    tile: int = 0  # input pixels per tile side; 0 = automatic (from free memory), as srgan-upscale without --tile
    output_dir: str = ""
    format: str = "same"  # as srgan-upscale: the input's own format (one rule for both, trainer.pipeline)
    quality: int = 95
    template: str = DEFAULT_TEMPLATE
    out_size: str = "model"
    out_pixels: int = OUT_PIXELS_DEFAULT
    evaluate: bool = False
    autostart: bool = True
    theme: str = "system"
    view_mode: str = "split"
    loupe: bool = False
    last_open_dir: str = ""
    model_files: str = ""  # model files imported by path, one per line (used where they are)

    def __post_init__(self) -> None:
        if not self.output_dir:
            self.output_dir = default_output_dir()
        self.normalise()

    def normalise(self) -> None:
        """Clamp values a hand-edited or older settings file might hold."""
        if self.format not in FORMATS:
            self.format = "same"
        if self.precision not in PRECISIONS:
            self.precision = "auto"
        if self.backend not in BACKENDS:
            self.backend = "auto"
        if self.theme not in THEMES:
            self.theme = "system"
        if self.view_mode not in ("split", "side"):
            self.view_mode = "split"
        self.quality = min(100, max(1, int(self.quality)))
        self.tile = 0 if int(self.tile) <= 0 else min(TILE_MAX, max(TILE_MIN, int(self.tile)))
        if not self.template.strip():
            self.template = DEFAULT_TEMPLATE
        if self.out_size not in OUT_SIZES:
            self.out_size = "model"
        self.out_pixels = min(OUT_PIXELS_MAX, max(OUT_PIXELS_MIN, int(self.out_pixels)))

    def imported_models(self) -> list[str]:
        """The model files the user imported, by path (oldest first)."""
        return [line for line in self.model_files.splitlines() if line.strip()]

    def remember_model_file(self, path: str) -> None:
        """Add ``path`` to :meth:`imported_models` (once)."""
        paths = self.imported_models()
        if path not in paths:
            self.model_files = "\n".join([*paths, path])

    def output_size(self) -> OutputSize:
        """The chosen output size for the pipeline (``trainer.pipeline.outsize``)."""
        if self.out_size == "width":
            return OutputSize(width=self.out_pixels)
        if self.out_size == "height":
            return OutputSize(height=self.out_pixels)
        return OutputSize.parse(self.out_size)


def settings_file() -> Path:
    """``settings.ini`` in the per-user config folder (``trainer.paths.user_config_dir``: platformdirs,
    ``SRGAN_CONFIG_DIR`` overrides; on Linux ``~/.config/srgan-desktop/settings.ini``)."""
    from trainer.paths import user_config_dir  # standard library and platformdirs only

    return user_config_dir() / "settings.ini"


def make_qsettings(path: str | Path | None = None) -> QSettings:
    """The application's store (:func:`settings_file`), or an INI file at ``path`` (tests).

    Earlier versions kept the settings where Qt puts them (``~/.config/SRGAN Desktop/srgan-desktop.ini``
    on Linux): on the first start without a settings file they are copied over, so nothing chosen
    before is lost.
    """
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    target = settings_file()
    store = QSettings(str(target), QSettings.Format.IniFormat)
    if not target.exists():
        earlier = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)
        if Path(earlier.fileName()).is_file() and Path(earlier.fileName()) != target:
            for key in earlier.allKeys():
                store.setValue(key, earlier.value(key))
            store.sync()
    return store


def load_settings(store: QSettings) -> AppSettings:
    """Read :class:`AppSettings` from ``store``; unknown or malformed values become defaults."""
    defaults = AppSettings()
    values = {}
    for f in fields(AppSettings):
        raw = store.value(f"options/{f.name}", None)
        default = getattr(defaults, f.name)
        if raw is None:
            values[f.name] = default
            continue
        try:
            if isinstance(default, bool):
                values[f.name] = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        except (TypeError, ValueError):
            values[f.name] = default
    return AppSettings(**values)


def save_settings(store: QSettings, settings: AppSettings) -> None:
    """Write :class:`AppSettings` into ``store`` (flushed to disk)."""
    for name, value in asdict(settings).items():
        store.setValue(f"options/{name}", value)
    store.sync()


def save_window(store: QSettings, geometry: QByteArray, state: QByteArray) -> None:
    """Remember the main window's geometry and dock/toolbar layout."""
    store.setValue("window/geometry", geometry)
    store.setValue("window/state", state)
    store.sync()


def load_window(store: QSettings) -> tuple[QByteArray | None, QByteArray | None]:
    """The saved window geometry and state, or ``None`` for each one never saved."""
    geometry = store.value("window/geometry", None)
    state = store.value("window/state", None)
    return (geometry if isinstance(geometry, QByteArray) else None, state if isinstance(state, QByteArray) else None)
