"""The parts of ``scripts/gpu_run.py``: one prepared run that checks, measures and trains on a GPU.

* :mod:`.report`: results as JSON lines and a text log, both flushed as they are written;
* :mod:`.context`: the run's settings, folders and time budget, shared by the phases;
* :mod:`.env`: the environment (GPU, torch, CUDA, cuDNN) as one dict;
* :mod:`.toydata`: toy data for ``--smoke`` and the bundle's layout;
* :mod:`.jobs`: child processes (benchmarks, torchrun) with time limits;
* :mod:`.check_engine`, :mod:`.check_train`: phase a (correctness on CUDA);
* :mod:`.bench`: phase b (benchmarks and roofline);
* :mod:`.plan`, :mod:`.probe`, :mod:`.training`: phase c (training at full speed);
* :mod:`.pack`: what comes back (at most 8 files of at most 16 MiB each);
* :mod:`.summary`: phase d (the one-screen table);
* :mod:`.bundle`: the data bundle that travels with the working tree (``scripts/gpu_bundle.sh``).

Nothing here imports Qt: the GPU machine has no PySide6, and the core's rule is Qt-free anyway.
"""
