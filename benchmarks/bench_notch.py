"""What the lattice notch costs at inference (run by hand, not in CI).

    .venv/bin/python benchmarks/bench_notch.py [--model srgan_x4] [--size 256] [--repeats 5] [--json OUT.json]

A model with ``lattice_notch`` (SRResNet.lattice_notch) runs two networks (its own and the frozen
reference) and the notch filter. Measured in one run on the current machine, alternating, with the
same image and the same engine settings (:class:`~trainer.inference.Upscaler`, automatic tile):

* the notched model as shipped (input: scikit-image's astronaut resized to ``--size``);
* the same file without its reference and notch (the plain network: what the model would cost
  without the notch);

Reported: the median seconds per image of each and their ratio, from process CPU time divided by
the threads on the CPU (the share of a shared machine's cores changes from second to second) and
from wall-clock time.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# First, before torch starts its threads: bench_inference sets OpenMP's passive wait policy, and its
# Clock turns CPU time into "seconds with the cores to itself".
from bench_inference import Clock, test_image  # noqa: E402

import torch  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    from trainer import zoo
    from trainer.inference import Upscaler

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="srgan_x4", help="a zoo name or model file with lattice_notch")
    p.add_argument("--size", type=int, default=256, help="input side in pixels")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)

    notched = zoo.load(args.model)
    if getattr(notched.module, "reference", None) is None:
        raise SystemExit(f"{args.model} has no lattice notch (hparam lattice_notch): nothing to compare")
    plain_module = copy.deepcopy(notched.module)
    plain_module.reference = plain_module.notch = None
    plain = notched.with_module(plain_module)
    img = test_image(args.size)
    engines = {"notched": Upscaler(notched, device=args.device), "plain": Upscaler(plain, device=args.device)}
    for engine in engines.values():
        engine.upscale_array(img)  # warm-up (allocator, oneDNN primitives)
    clock = Clock(engines["plain"].device)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for _ in range(args.repeats):
        for name, engine in engines.items():  # alternating: drifts in the machine's load hit both
            times[name].append(clock(lambda e=engine: e.upscale_array(img))[1:])
    result = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, {args.device}",
        "model": args.model, "size": args.size, "repeats": args.repeats,
    }
    for name in engines:
        result[name] = {"wall_s": statistics.median(w for w, _ in times[name]),
                        "cpu_s_per_thread": statistics.median(c for _, c in times[name])}
    result["ratio_cpu"] = result["notched"]["cpu_s_per_thread"] / result["plain"]["cpu_s_per_thread"]
    result["ratio_wall"] = result["notched"]["wall_s"] / result["plain"]["wall_s"]
    print(f"{result['machine']}; {args.model}, {args.size}x{args.size} input, median of {args.repeats}")
    for name in engines:
        print(f"  {name:8s} {result[name]['wall_s']:.2f} s wall, {result[name]['cpu_s_per_thread']:.2f} s CPU per thread")
    print(f"  notched / plain: {result['ratio_cpu']:.2f}x (CPU time), {result['ratio_wall']:.2f}x (wall)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
