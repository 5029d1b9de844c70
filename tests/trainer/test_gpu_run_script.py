"""scripts/gpu_run.py works before a GPU is there: the smoke run, the return limits, the bundle size.

The GPU session runs the script blind, once, in a few minutes of device time; these tests make sure
every phase runs (``--smoke``: the CPU, toy sizes), that what it returns fits the device tool's limits
(at most 8 files of at most 16 MiB, 64 MiB in all, none in sub-folders), and that the data bundle
plus the working tree fit the 64 MiB the tool sends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
MiB = 1 << 20
sys.path.insert(0, str(SCRIPTS))

# Checks that need CUDA; everything else must actually run on the CPU.
CUDA_ONLY = {"oom_backoff_cuda", "gpu_peak_4000x3000"}
MUST_RUN = {
    "a": {"engine_fp32", "engine_fp16", "engine_bf16", "fp16_overflow_fallback", "tiled_vs_whole_fp32",
          "tiled_vs_whole_auto", "oom_backoff_simulated", "amp_step_fp16", "amp_step_bf16", "resume"},
    "b": {"roofline", "bench_inference", "bench_training"},
    "c": {"srresnet_rc_x4", "srgan_x4", "srgan_lat_x4"},
    "d": {"qt_free"},
}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run for the whole module: (out folder, results by check, seconds)."""
    base = tmp_path_factory.mktemp("gpu_run")
    out = base / "out"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONUNBUFFERED="1")
    t = time.perf_counter()
    res = subprocess.run([sys.executable, str(SCRIPTS / "gpu_run.py"), "--smoke", "--out", str(out), "--work", str(base / "work")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - t
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return out, {(r["phase"], r["check"]): r for r in records}, res.stdout, seconds


def test_every_phase_runs_and_nothing_errors(smoke):
    out, results, stdout, seconds = smoke
    errors = {k: r["detail"] for k, r in results.items() if r["status"] == "error"}
    assert not errors
    for phase, names in MUST_RUN.items():
        for name in names:
            assert (phase, name) in results, f"{phase}/{name} missing"
            assert not results[(phase, name)]["status"].startswith("skipped"), results[(phase, name)]
    for (phase, name), r in results.items():
        if name in CUDA_ONLY:
            assert r["status"] == "skipped (no CUDA)"
    # Checks with a verdict that does not depend on the tiny random model's numbers must pass.
    for key in [("a", "fp16_overflow_fallback"), ("a", "tiled_vs_whole_fp32"), ("a", "oom_backoff_simulated"),
                ("a", "amp_step_fp16"), ("a", "amp_step_bf16"), ("a", "resume"), ("d", "qt_free")]:
        assert results[key]["status"] == "pass", results[key]
    assert results[("a", "resume")]["figures"]["bitwise_weights"] is True
    # The summary comes last on stdout and reports each phase.
    summary = (out / "summary.txt").read_text()
    assert stdout.rstrip().endswith(summary.rstrip().splitlines()[-1].rstrip())
    for title in ("a. correctness:", "b. benchmarks:", "c. training:", "d. summary:"):
        assert title in summary
    print(f"smoke run: {seconds:.1f} s")


def test_what_comes_back_fits_the_device_tool(smoke):
    out, _, _, _ = smoke
    entries = list(out.iterdir())
    assert all(p.is_file() for p in entries), "sub-folders do not come back whole"
    assert len(entries) <= 8
    assert all(p.stat().st_size <= 16 * MiB for p in entries)
    assert sum(p.stat().st_size for p in entries) <= 64 * MiB
    names = {p.name for p in entries}
    assert {"gpu_run.log", "results.jsonl", "summary.txt", "bench.zip", "srresnet_rc_x4.zip", "srgan_x4.zip", "srgan_lat_x4.zip"} <= names


def test_returned_models_load_and_carry_their_set5_figures(smoke, tmp_path):
    from trainer.modelfile import load_model
    from trainer.train.checkpoint import load_checkpoint

    out, results, _, _ = smoke
    with zipfile.ZipFile(out / "srgan_x4.zip") as zf:
        zf.extractall(tmp_path)
    model = load_model(tmp_path / "srgan_x4.safetensors")
    assert model.metadata["storage_dtype"] == "float16"
    assert model.metadata["set5_fp16"]["psnr"] == pytest.approx(results[("c", "srgan_x4")]["figures"]["set5_fp16"]["psnr"])
    assert model.metadata["gpu_run"]["steps"] == 3
    state = load_checkpoint(tmp_path / "srgan_x4_continue.pt")  # the trainer's checkpoint reader takes it
    assert {"generator", "ema", "config"} <= set(state) and state["discriminator"] is not None
    assert any(n.startswith("srgan_x4_step") for n in os.listdir(tmp_path))  # the GAN series
    # The EMA in the continue file is the model that was exported (fp16-rounded).
    for key, value in model.module.state_dict().items():
        assert (value - state["ema"]["module"][key].float()).abs().max() <= 1e-2 * max(1.0, float(value.abs().max()))


def test_packer_splits_and_drops_within_the_limits(tmp_path):
    from gpu.pack import Member, Returns

    files = []
    for i, size in enumerate((6, 6, 6, 3)):
        p = tmp_path / f"m{i}.pt"
        p.write_bytes(os.urandom(size * 1000))
        files.append(p)
    out = tmp_path / "out"
    out.mkdir()
    # Units scaled down: zips of at most 13 kB, 4 files of which 3 are kept for log/results/summary.
    returns = Returns(out, max_files=5, max_file=13_000, max_total=10 << 20)
    written, dropped = returns.pack("run", [Member(f, f.name, i) for i, f in enumerate(files)])
    assert [p.name for p in written] == ["run.zip", "run-2.zip"]
    assert all(p.stat().st_size <= 13_000 for p in written)
    assert len(dropped) == 1 and dropped[0].startswith("m2.pt")  # no third slot: the lowest priority that does not fit
    with zipfile.ZipFile(written[0]) as zf:
        assert sorted(zf.namelist()) == ["DROPPED.txt", "m0.pt", "m3.pt"]


def test_a_resize_conv_run_may_start_from_the_shipped_pixel_shuffle_model():
    from gpu.training import _matches

    shipped = ROOT / "resources" / "models" / "srresnet_x4.safetensors"
    base = {"scale": 4, "num_blocks": 16, "channels": 64, "bicubic_skip": True}
    assert _matches(shipped, {"arch": "srresnet", "hparams": {**base, "upsampler": "bilinear_conv"}})  # fitted
    assert _matches(shipped, {"arch": "srresnet", "hparams": base})
    assert not _matches(shipped, {"arch": "srresnet", "hparams": {**base, "channels": 32}})
    assert not _matches(shipped, {"arch": "wdrn", "hparams": base})


def test_the_photo_plan_for_issue_14_starts_from_the_shipped_file_and_smokes_with_its_kernels():
    """docs/gpu_runs/photo_grown_plan.json: a deeper photo_x4 started from the shipped one; the smoke run
    narrows the plan's own kernel types, not the default four (it once forced four chances on one type)."""
    from gpu.plan import load_plan, smoke_overrides
    from gpu.training import _matches
    from trainer import config as C

    (spec,) = load_plan(ROOT / "docs" / "gpu_runs" / "photo_grown_plan.json", [])
    shipped = ROOT / "resources" / "models" / "photo_x4.safetensors"
    hp = {"scale": 4, "num_blocks": spec.overrides["model.hparams.num_blocks"], "channels": 64, "bicubic_skip": True}
    assert hp["num_blocks"] > 16 and _matches(shipped, {"arch": "srresnet", "hparams": hp})  # grown from it
    smoke = smoke_overrides(spec)
    assert smoke["data.realistic.kernel_probs"] == [1.0]
    cfg = C.apply_overrides(C.load_recipe(spec.recipe), {**spec.overrides, **smoke})
    assert cfg.data.realistic.kernel_types == ("iso",) and cfg.data.holdout == 6
    default = smoke_overrides(replace(spec, overrides={}))
    assert len(default["data.realistic.kernel_probs"]) == len(C.load_recipe("photo").data.realistic.kernel_types)


def test_plan_is_data_and_overrides_name_their_run(tmp_path):
    from gpu.plan import DEFAULT_PLAN, load_plan

    plan = load_plan(None, ["srgan_x4:phases.gan.adversarial.weight=3e-2"])
    gan = next(r for r in plan if r.name == "srgan_x4")
    assert gan.overrides["phases.gan.adversarial.weight"] == 3e-2
    default_gan = next(r for r in DEFAULT_PLAN if r.name == "srgan_x4")
    assert default_gan.recipe == "srgan-dfm" and default_gan.overrides["data.holdout"] == 6  # issue 13's recipe and rule
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([{"name": "x", "recipe": "quick", "init": ["shipped:srresnet_x4"], "share": 1.0}]))
    (only,) = load_plan(path, [])
    assert only.recipe == "quick" and only.init == ("shipped:srresnet_x4",)
    with pytest.raises(ValueError, match="no run named"):
        load_plan(None, ["nope:data.crop=64"])
    path.write_text(json.dumps([{"name": "y", "recipe": "quick", "after": "x"}]))
    with pytest.raises(ValueError, match="names no earlier run"):
        load_plan(path, [])
    path.write_text(json.dumps([{"name": "x", "recipe": "quick", "colour": 1}]))
    with pytest.raises(ValueError, match="unknown run field"):
        load_plan(path, [])


def test_series_steps_double_their_gaps():
    from gpu.training import series_steps

    assert series_steps(1400, 4) == [87, 175, 350, 700]
    assert series_steps(3, 4) == [1]


def test_the_bundle_and_the_working_tree_fit_64_mib(tmp_path):
    """``git ls-files`` sizes (plus untracked, not ignored files) + the bundle <= 64 MiB.

    Checks the real ``.gpu_bundle`` when it exists, else builds one from the shared data into a
    temporary folder (the same sizing), else skips."""
    from gpu import bundle

    try:
        tree = bundle.tree_bytes(ROOT)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    dest = ROOT / ".gpu_bundle"
    if not dest.is_dir():
        shared = bundle.REPO.parent / "shared" / "data"
        if not (shared / "benchmarks" / "Set5").is_dir():
            pytest.skip("no .gpu_bundle and no shared data to build one from")
        dest = tmp_path / "bundle"
        manifest = bundle.build(shared, dest, repo=ROOT)
        assert manifest["train_images"] > 0
    assert (dest / "benchmarks" / "Set5").is_dir() and any((dest / "train").rglob("*.*"))
    assert tree + bundle.folder_bytes(dest) <= 64 * MiB


# What the device machine has (the device tool's KINDS.md) and what only optional paths of the core
# import lazily (foreign models, ONNX/OpenVINO, TIFF, HEIC): the GPU run never takes those.
# scipy: scikit-image requires it, so a machine with scikit-image has it (trainer.metrics.dot_lattice blurs with it).
DEVICE_HAS = {"torch", "torchvision", "numpy", "PIL", "skimage", "scipy", "safetensors"}
OPTIONAL = {"spandrel", "onnx", "onnxruntime", "openvino", "tifffile", "onnxscript",
            "pillow_heif"}  # HEIC input: registered when installed (trainer.imageio.heif), never needed to train


def test_the_bundle_carries_every_pure_python_dependency_the_core_imports(tmp_path):
    """The first lent run's training died on ``import tomli_w``: every third-party module the core
    imports is on the device machine, optional, or copied into ``.gpu_bundle/pylib`` -- and a Python
    without site-packages imports the copies from there."""
    import ast

    from gpu import bundle

    imported = set()
    for path in (ROOT / "trainer").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"trainer", "__future__"}
    assert third_party - DEVICE_HAS - OPTIONAL == set(bundle.PURE_DEPS)

    missing = bundle.copy_pylib(tmp_path / "pylib", repo=ROOT)
    assert missing == []
    assert not list((tmp_path / "pylib").rglob("__pycache__"))  # source only: byte-code is per Python version
    code = ("import sys; sys.path.append(sys.argv[1]); import " + ", ".join(bundle.PURE_DEPS) + "; "
            "print('|'.join(sys.modules[n].__file__ for n in sys.argv[2:]))")
    res = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path / "pylib"), *bundle.PURE_DEPS],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr[-2000:]
    assert all(Path(f).is_relative_to(tmp_path / "pylib") for f in res.stdout.strip().split("|"))


def test_a_run_after_another_continues_its_generator_and_discriminator(smoke, tmp_path):
    """``after``: the lattice fine-tune starts from the GAN's exported generator and its discriminator."""
    from trainer.config import load

    out, _, _, _ = smoke
    with zipfile.ZipFile(out / "srgan_lat_x4.zip") as zf:
        zf.extract("config.toml", tmp_path)
    cfg = load(tmp_path / "config.toml")
    assert Path(cfg.model.init_weights).name == "srgan_x4.safetensors"
    gan = next(p for p in cfg.phases if p.is_gan and p.iterations > 0)
    assert Path(gan.discriminator.init_weights).name == "srgan_x4_continue.pt"
    assert gan.pixel.lattice == 20000.0 and gan.pixel.lattice_scope == "image"


def test_the_gan_run_validates_the_form_that_ships(smoke):
    """The default plan's GAN blends with the SRResNet it started from at every validation (runtime.val_blend = "@init")."""
    _, results, _, _ = smoke
    gan = results[("c", "srgan_x4")]["figures"]
    base = results[("c", "srresnet_rc_x4")]["figures"]
    assert gan["init"].startswith("run:srresnet_rc_x4") or gan["init"].startswith("shipped:")
    if gan["init"].startswith("run:"):
        assert gan["val_blend"].endswith(".safetensors") and "srresnet_rc_x4" in gan["val_blend"], (gan["val_blend"], base.get("init"))
        assert gan["validations"] and all("blend_psnr" in v for v in gan["validations"])
        # gan31's PSNR budget against the generator the phase starts from: its state is kept with each validation
        assert all(v["budget_mult"] >= 1 and "budget_gap_db" in v for v in gan["validations"])
    else:  # started from the pixel-shuffle file: no blend with another network
        assert gan["val_blend"].startswith("none")
