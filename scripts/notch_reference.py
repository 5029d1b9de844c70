"""Write out the reference network that a lattice-notched model file carries.

A notched ``srgan_x4`` (``trainer.interpolate.with_lattice_notch``) holds two SRResNets: the GAN
generator and the MSE network whose lattice-frequency component it keeps (``reference.*``). When
the run folder that produced the reference is gone, this recovers it (in the file's storage
precision, e.g. fp16) so a GAN run can start from it again::

    python scripts/notch_reference.py resources/models/srgan_x4.safetensors --out runs/srresnet_rc_x4.safetensors
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer import models  # noqa: E402
from trainer.modelfile import load_model, save_model  # noqa: E402


def extract(path: str | Path, out: str | Path) -> Path:
    """Save the ``reference`` network of the notched model ``path`` to ``out`` (float32)."""
    notched = load_model(path)
    notch = dict(notched.metadata).get("lattice_notch") or {}
    if not notched.hparams.get("lattice_notch"):
        raise SystemExit(f"{path}: not a lattice-notched model (no reference network inside)")
    hp = {**dict(notched.hparams), "lattice_notch": 0.0}
    built = models.build_model(notched.arch, **hp)
    built.module.load_state_dict(notched.module.reference.state_dict())
    built.module.eval()
    meta = {"description": f"the reference network carried by {Path(path).name} (notch against {notch.get('reference', '?')})"}
    return save_model(built, out, metadata=meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a notched model file, e.g. resources/models/srgan_x4.safetensors")
    parser.add_argument("--out", required=True, help="where to write the reference network (.safetensors)")
    args = parser.parse_args(argv)
    print(extract(args.model, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
