"""Model files: safetensors weights plus JSON metadata; safe reading of foreign ``.pth``/``.pt`` files.

Format (``format_version`` 1): a ``.safetensors`` file whose header metadata holds, under the key
:data:`METADATA_KEY` (``"srgan_desktop"``), one JSON object::

    {"format_version": 1, "arch": "srresnet", "hparams": {...}, "scale": 4, "kind": "generator",
     "storage_dtype": "float32", "created": "2026-01-01T00:00:00+00:00",
     ... user metadata: "trained_on", "steps", "metrics", "recipe", "description", ...}

so a file rebuilds its network from the registry with nothing but its own header (loading never
guesses). The header also carries ``"format": "pt"`` as other safetensors tools expect.

``.pth``/``.pt`` files are read only with ``torch.load(weights_only=True)``: a pickle that wants to
construct objects or run code is refused. They carry no architecture, so the caller passes ``arch``
(and ``hparams``); for SRResNet-shaped keys the hyperparameters are inferred (see
:func:`infer_srresnet_hparams`). Any other file (a ``.pth`` or a safetensors without this project's
metadata) is a community model: its tensors, read the same safe way, go to ``trainer.foreign``,
which detects the architecture with spandrel (ESRGAN, Real-ESRGAN, SwinIR, HAT, ...).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from trainer.atomic import atomic_path
from trainer.errors import FileError, one_line, torch_load_reason
from trainer.loaded_model import LoadedModel

FORMAT_VERSION = 1
METADATA_KEY = "srgan_desktop"
RESERVED_KEYS = ("format_version", "arch", "hparams", "scale", "kind", "storage_dtype")
SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pth", ".pt")
# Wrappers used by BasicSR (params_ema / params), Lightning and most training scripts (the ones
# spandrel unwraps too), in the order they are preferred (the EMA weights are the ones to use for inference).
STATE_DICT_WRAPPERS = ("params_ema", "params-ema", "params", "state_dict", "model_state_dict", "model", "net", "generator", "netG")
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
PROBE_SIDE = 16  # the test image a generator must turn into finite values when it is loaded
_SRRESNET_KEY = re.compile(
    r"head\.[01]\.weight|head\.0\.bias|body\.\d+\.body\.[0-4]\.\w+|body_tail\.[01]\.\w+|upsample\.\d+\.\w+|tail\.(weight|bias)"
)


class ModelFileError(FileError):
    """A model file cannot be used; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(Path(path), reason)


def save_model(
    model: LoadedModel,
    path: str | os.PathLike,
    *,
    metadata: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``model`` (built by ``trainer.models.build``) to a ``.safetensors`` file, atomically.

    Args:
        model: a registry-built network with its description (``trainer.models.build_model`` /
            ``describe``, or a loaded model): the file records its ``arch``, ``hparams``, ``scale``, ``kind``.
        path: destination; any suffix but ``.pth``/``.pt`` (the file is safetensors either way).
        metadata: JSON-serialisable extras stored with the file (``trained_on``, ``steps``,
            ``metrics``, ``recipe``, ``created``, ``description``, ...). They may not redefine the
            reserved keys (:data:`RESERVED_KEYS`). ``created`` defaults to now (UTC, ISO 8601).
        dtype: storage dtype of floating tensors, e.g. ``torch.float16`` to halve the file;
            :func:`load_model` always returns float32 weights.

    Returns the path written. A crash mid-write leaves any previous file untouched (temporary file
    in the same folder, fsync, then rename).
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(f"{path}: model files are written as safetensors; use a .safetensors name")
    if not isinstance(model, LoadedModel):
        raise ValueError("save_model needs a LoadedModel (trainer.models.build_model/describe, or load_model): "
                         "the file records its arch and hparams")
    if "opened_with" in model.metadata:  # trainer.foreign: the registry could not rebuild it from a header
        raise ValueError(f"{model.name} is a community model ({model.arch}, opened with spandrel): keep its own file, "
                         "or install it with trainer.app.model_choices.import_model_file")
    module = getattr(model.module, "_orig_mod", model.module)  # torch.compile wrapper: save the module it wraps
    extra = dict(metadata or {})
    clash = sorted(k for k in extra if k in RESERVED_KEYS)
    if clash:
        raise ValueError(f"metadata may not set the reserved key(s) {clash}; they come from the model")
    storage = dtype or torch.float32
    if not storage.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype, got {storage}")
    header = {
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "hparams": dict(model.hparams),
        "scale": model.scale,
        "kind": model.kind,
        "storage_dtype": str(storage).removeprefix("torch."),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }
    try:
        header_json = json.dumps(header)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"model metadata must be JSON-serialisable: {exc}") from exc

    # clone(): safetensors refuses tensors that share storage; contiguous CPU copies are what it writes.
    tensors = {
        key: (t.detach().to("cpu", storage) if t.is_floating_point() else t.detach().cpu()).contiguous().clone()
        for key, t in module.state_dict().items()
    }
    with atomic_path(path) as tmp:  # trainer.atomic: temp file in the same folder, fsync, rename
        save_file(tensors, str(tmp), metadata={"format": "pt", METADATA_KEY: header_json})
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The file's metadata dict, reading only the header (cheap enough for listing a folder).

    A safetensors file written by another tool has no metadata: ``{}``. ``.pth``/``.pt`` files never
    carry metadata (and are not opened): ``{}``.

    Raises:
        ModelFileError: missing file, unsupported suffix, corrupt/truncated header, bad metadata JSON.
    """
    path = Path(path)
    check_readable(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return {}
    if suffix not in SAFETENSORS_SUFFIXES:
        raise ModelFileError(path, f"unsupported model file type {suffix!r}; expected .safetensors, .pth or .pt")
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as fh:
            raw = (fh.metadata() or {}).get(METADATA_KEY)
    except Exception as exc:
        raise ModelFileError(path, f"not a readable safetensors file (corrupt or truncated?): {one_line(exc)}") from None
    if raw is None:
        return {}
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelFileError(path, f"metadata is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(path, "metadata is not a JSON object")
    return meta


def check_readable(path: Path) -> None:
    """Raise :class:`ModelFileError` saying why ``path`` cannot be read: missing, a folder, no
    permission (to the file or a folder above it), a symlink loop."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ModelFileError(path, "file not found") from None
    except PermissionError:
        raise ModelFileError(path, "permission denied (a folder above the file cannot be searched)") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(path, f"cannot access the file ({getattr(exc, 'strerror', None) or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(path, "is a folder, not a model file")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except PermissionError:
        raise ModelFileError(path, "permission denied: the file cannot be read") from None
    except OSError as exc:
        raise ModelFileError(path, f"cannot read the file ({exc.strerror or exc})") from None


def require_generator(model: LoadedModel) -> LoadedModel:
    """``model`` if it upscales; a discriminator (or other non-generator) is refused in one line."""
    if model.kind != "generator":
        where = model.source if model.source is not None else Path(model.arch)
        raise ModelFileError(
            where, f"not a generator: the file holds a {model.kind} ({model.arch!r}), which judges images in "
            "training and cannot upscale them"
        )
    return model


def load_model(
    path: str | os.PathLike,
    *,
    arch: str | None = None,
    hparams: Mapping[str, Any] | None = None,
    device: str | torch.device = "cpu",
) -> LoadedModel:
    """Rebuild a network from a model file, in eval mode, float32, on ``device``.

    ``.safetensors`` written by :func:`save_model` need nothing else. ``arch``/``hparams`` override
    (or, for files without metadata and for ``.pth``, supply) the architecture; hparams given with
    the file's own arch are merged over the recorded ones. A file that names no architecture and is
    not SRResNet-shaped is opened with spandrel (``trainer.foreign.open_state_dict``: ``arch`` is
    spandrel's id, ``metadata`` describes the network). Returns a :class:`LoadedModel`: the module
    with its ``arch``, ``hparams`` (defaults filled in), ``scale``, ``kind``, ``source`` (this file)
    and ``metadata`` (the file's metadata dict, ``{}`` for a ``.pth``).

    Raises:
        ModelFileError: with the path and the reason: missing/corrupt/truncated file, a pickle that
        holds code or objects, not a model, unknown architecture, or weights that do not match the
        architecture (missing/unexpected keys and shape mismatches are listed).
    """
    from trainer import models
    from trainer.device import resolve_device

    path = Path(path)
    meta = read_metadata(path)  # also checks existence and suffix
    if path.suffix.lower() in PICKLE_SUFFIXES:
        state = _read_pickle_state_dict(path)
    else:
        state = _read_safetensors(path)
    state = _strip_prefixes(state)

    recorded = meta.get("arch")
    if arch is None:
        arch = recorded or ("srresnet" if infer_srresnet_hparams(state) else None)
    if arch is None:  # not the project's format: a community model (ESRGAN, SwinIR...) opened with spandrel
        return _load_foreign(path, state, device)
    if arch == recorded:
        base = dict(meta.get("hparams") or {})
    else:  # the caller names the arch: recorded hparams belong to another one
        base = (infer_srresnet_hparams(state) or {}) if arch == "srresnet" else {}
    hp = {**base, **dict(hparams or {})}

    try:
        model = models.describe(models.build(arch, **hp), arch, hp, source=path, metadata=meta)
    except models.ModelTooLargeError as exc:  # estimated from the metadata, before building anything
        raise ModelFileError(path, str(exc)) from None
    except KeyError as exc:
        raise ModelFileError(path, str(exc.args[0]) if exc.args else f"unknown architecture {arch!r}") from exc
    except (TypeError, ValueError) as exc:
        raise ModelFileError(path, f"cannot build {arch!r} with {hp}: {exc}") from exc
    _load_strict(model, state, path)
    model.module.eval()
    _check_finite(model, state, path)
    model.module.to(resolve_device(device))
    return model


def _load_foreign(path: Path, state: dict[str, torch.Tensor], device: str | torch.device) -> LoadedModel:
    """A file without the project's metadata and not SRResNet-shaped: ``trainer.foreign`` (spandrel)."""
    from trainer import models
    from trainer.device import resolve_device
    from trainer.foreign import ForeignModelError, open_state_dict

    try:
        model = open_state_dict(state, source=path)
    except ForeignModelError as exc:
        if "recognises" in str(exc):  # also say how the project's own networks are named
            known = ", ".join(models.list())
            raise ModelFileError(path, f"the file does not say which architecture it holds, and it is {exc}; "
                                 f"for this project's networks pass arch= (one of: {known})") from None
        raise ModelFileError(path, str(exc)) from None
    _check_finite(model, state, path)
    model.module.to(resolve_device(device))
    return model


def _check_finite(model: LoadedModel, state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse weights with NaN/inf, and a generator whose output on a small probe is not finite:
    it would turn every image black (NaN) or white (inf)."""
    bad = [k for k, t in state.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ModelFileError(path, f"the weights contain NaN or infinite values ({', '.join(bad[:3])}{more})")
    if model.kind != "generator":
        return
    g = torch.Generator().manual_seed(0)
    probe = torch.rand(1, model.channels, PROBE_SIDE, PROBE_SIDE, generator=g)
    try:
        with torch.no_grad():
            out = model.module(probe)
    except Exception:  # noqa: BLE001 - a model that cannot run this probe is judged on real images
        return
    if isinstance(out, torch.Tensor) and out.is_floating_point() and not bool(torch.isfinite(out).all()):
        raise ModelFileError(path, "the model produces NaN or infinite values on a test image (it would write "
                             "black or white images); refused")


def infer_srresnet_hparams(state: Mapping[str, torch.Tensor]) -> dict[str, Any] | None:
    """SRResNet hyperparameters read off a state dict's keys and shapes, or None if it is not one.

    ``channels`` from ``head.0.weight``, ``num_blocks`` from the ``body.<i>.`` indices, ``scale`` =
    2 ** (number of ``upsample`` convs). ``bicubic_skip`` adds no weights and cannot be seen: it is
    False unless the caller passes it in ``hparams``. Only SRResNet is inferred; other architectures
    need ``arch=``.
    """
    needed = ("head.0.weight", "body_tail.0.weight", "tail.weight")
    if not all(k in state for k in needed) or not all(_SRRESNET_KEY.fullmatch(k) for k in state):
        return None  # e.g. WDRN shares head/tail names but has "blocks.*" keys
    if any(re.match(r"upsample\.\d+\.weight$", k) and state[k].ndim == 4 and state[k].shape[0] == state[k].shape[1]
           for k in state):
        return None  # a resize-conv upsampler (nearest or bilinear: the weights cannot tell); needs the file's metadata
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"body\.(\d+)\.", k))}
    ups = {int(m.group(1)) for k in state if (m := re.match(r"upsample\.(\d+)\.weight$", k)) and state[k].ndim == 4}
    return {
        "scale": 2 ** len(ups),
        "num_blocks": max(blocks) + 1 if blocks else 0,
        "channels": int(state["head.0.weight"].shape[0]),
    }


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        state = load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelFileError(path, f"not a readable safetensors file (corrupt or truncated?): {one_line(exc)}") from None
    return {k: (t.float() if t.is_floating_point() else t) for k, t in state.items()}


def _read_pickle_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """``torch.load(weights_only=True)`` and unwrap to a flat tensor dict; never unpickles objects."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - garbage, truncated, or a pickle that wants to run code
        raise ModelFileError(path, torch_load_reason(exc, path)) from None

    for _ in range(4):  # wrappers may nest, e.g. {"state_dict": {"params_ema": ...}}
        if not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in STATE_DICT_WRAPPERS if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise ModelFileError(path, f"not a model: the file holds a {type(obj).__name__}, not a state dict")
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not state:
        raise ModelFileError(path, "not a model: no weight tensors found in the file")
    return {k: (t.float() if t.is_floating_point() else t) for k, t in state.items()}


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove ``module.`` (DataParallel/DDP) and ``_orig_mod.`` (torch.compile) key prefixes."""
    out = {}
    for key, value in state.items():
        while key.startswith(_WRAPPER_PREFIXES):
            key = key.split(".", 1)[1]
        out[key] = value
    return out


def _load_strict(model: LoadedModel, state: Mapping[str, torch.Tensor], path: Path, limit: int = 10) -> None:
    """``load_state_dict(strict=True)`` with an error that lists what does not match."""
    expected = model.module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:

        def few(items: list[str]) -> str:
            more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if missing:
            parts.append(f"missing keys: {few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {few(unexpected)}")
        if shapes:
            parts.append(f"shape mismatches: {few(shapes)}")
        raise ModelFileError(path, f"weights do not match {model.arch!r} {dict(model.hparams)}: " + "; ".join(parts))
    model.module.load_state_dict(state, strict=True)
