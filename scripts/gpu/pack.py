"""What comes back from the device machine: at most 8 files of at most 16 MiB each, 64 MiB in all.

Only the top level of ``--out`` is returned, so everything goes there as a few files: the log, the
results and the summary (written as the run goes) and one zip per finished piece of work (a
training run, the benchmark outputs). A zip holds its members in priority order; one that would
pass 16 MiB continues in ``NAME-2.zip``, ``NAME-3.zip``... (each a complete zip, no reassembly),
and a member that fits neither the file slots nor the bytes left is dropped and named in the zip's
``DROPPED.txt`` and the log. Weights are stored (they do not compress), text is deflated.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1 << 20
MAX_FILES = 8
MAX_FILE = 16 * MiB
MAX_TOTAL = 64 * MiB
# Slots and bytes kept for the files written as the run goes: log, results, summary.
FIXED_FILES = 3
FIXED_BYTES = 2 * MiB
# A zip's own bytes per member and at its end (local header, central directory, long names).
_ENTRY_OVERHEAD = 256
_ZIP_OVERHEAD = 1024
_STORED_SUFFIXES = (".safetensors", ".pt", ".pth", ".zip", ".png", ".jpg")


@dataclass(frozen=True)
class Member:
    """A file to return: its path here, its name in the zip, its priority (0 = first)."""

    path: Path
    arcname: str
    priority: int = 0


class Returns:
    """Keeps count of the files and bytes written into ``out`` against the device tool's limits."""

    def __init__(self, out: Path, *, max_files: int = MAX_FILES, max_file: int = MAX_FILE, max_total: int = MAX_TOTAL) -> None:
        self.out = out
        self.max_files, self.max_file, self.max_total = max_files, max_file, max_total
        self.written: list[Path] = []

    def _used(self) -> tuple[int, int]:
        files = [p for p in self.written if p.is_file()]
        return len(files), sum(p.stat().st_size for p in files)

    def slots_left(self) -> int:
        """Zip files that may still be written (the fixed files' slots are kept)."""
        return self.max_files - FIXED_FILES - self._used()[0]

    def bytes_left(self) -> int:
        """Bytes that zips may still take (the fixed files' bytes are kept)."""
        return self.max_total - FIXED_BYTES - self._used()[1]

    def pack(self, name: str, members: list[Member]) -> tuple[list[Path], list[str]]:
        """Write ``out/NAME.zip`` (and ``NAME-2.zip``...); returns (files written, members dropped)."""
        ordered = sorted((m for m in members if m.path.is_file()), key=lambda m: m.priority)
        groups: list[list[Member]] = []
        dropped: list[str] = []
        sizes: list[int] = []
        budget = self.bytes_left()
        slots = self.slots_left()
        for m in ordered:
            size = m.path.stat().st_size + _ENTRY_OVERHEAD
            if size + _ZIP_OVERHEAD > min(self.max_file, budget):
                dropped.append(f"{m.arcname} ({m.path.stat().st_size / MiB:.1f} MiB: over the bytes left)")
                continue
            for i, group_size in enumerate(sizes):  # first zip it still fits (keeps the count low)
                if group_size + size <= self.max_file - _ZIP_OVERHEAD:
                    groups[i].append(m)
                    sizes[i] += size
                    break
            else:
                if len(groups) >= slots:
                    dropped.append(f"{m.arcname} ({m.path.stat().st_size / MiB:.1f} MiB: no file slot left)")
                    continue
                groups.append([m])
                sizes.append(size)
            budget -= size
        written = []
        for i, group in enumerate(groups):
            path = self.out / (f"{name}.zip" if i == 0 else f"{name}-{i + 1}.zip")
            tmp = path.with_name(path.name + ".tmp")  # a killed run never leaves a torn zip behind
            with zipfile.ZipFile(tmp, "w") as zf:
                for m in group:
                    stored = m.arcname.endswith(_STORED_SUFFIXES)
                    zf.write(m.path, m.arcname, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
                if i == 0 and dropped:
                    zf.writestr("DROPPED.txt", "\n".join(dropped) + "\n")
            tmp.replace(path)
            if path not in self.written:
                self.written.append(path)
            written.append(path)
        return written, dropped
