"""Generate a challenge-shaped git repository with many pull-request refs, for ``pgolf sweep``.

The base commit (``main``) holds a root README.md and train_gpt.py and ``--records`` merged
records of the 10-minute track. Each of ``--refs`` pull requests is one commit on main, pointed
at by ``refs/pull/<n>/head``, adding one folder with README.md, submission.json, three train
logs (each embedding the script, as most real logs do) and a ``train_gpt.py`` from
``bench/gen_scripts.py``. Pull requests share scripts the way real ones do: drawn from a pool
of ``--pool`` scripts with a skew (a few are copied by many pull requests, most by one to
three), each under its own folder name and with its own scores and logs. About 30% are in the
non-record track, and about 10% also edit the root README.md (a diff-shape failure).

The repository is written in one ``git fast-import`` stream into a bare repository, so building
500 refs takes seconds. Output is a pure function of the arguments.

Usage:
    python bench/gen_sweep_repo.py --refs 500 --pool 300 --out bench/out/sweep.git
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from bench_gate import record_files  # noqa: E402
from gen_scripts import generate_script  # noqa: E402

TEN_MIN = "records/track_10min_16mb"
NON_RECORD = "records/track_non_record_16mb"
_WHEN = "1777777777 +0000"


@dataclass
class Built:
    repo: Path
    scripts: dict[int, str] = field(default_factory=dict)
    """Script index -> source, for the scripts the pull requests use."""
    script_of: dict[str, int] = field(default_factory=dict)
    """Ref -> the index of the script its folder ships."""


class _Stream:
    """A ``git fast-import`` input stream, with marks for blobs written once each."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.marks: dict[bytes, int] = {}
        self.next_mark = 1

    def blob(self, data: bytes) -> int:
        mark = self.marks.get(data)
        if mark is None:
            mark = self.marks[data] = self.next_mark
            self.next_mark += 1
            self.parts += [b"blob\nmark :%d\ndata %d\n" % (mark, len(data)), data, b"\n"]
        return mark

    def commit(self, ref: str, message: str, files: dict[str, bytes], parent: int | None) -> int:
        marks = {path: self.blob(data) for path, data in files.items()}
        mark = self.next_mark
        self.next_mark += 1
        text = message.encode()
        self.parts.append(
            b"commit %s\nmark :%d\nauthor bench <bench@example.invalid> %s\n"
            b"committer bench <bench@example.invalid> %s\ndata %d\n%s\n"
            % (ref.encode(), mark, _WHEN.encode(), _WHEN.encode(), len(text), text)
        )
        if parent is not None:
            self.parts.append(b"from :%d\n" % parent)
        for path, blob in marks.items():
            self.parts.append(b"M 100644 :%d %s\n" % (blob, path.encode()))
        self.parts.append(b"\n")
        return mark


def build(out: Path, refs: int, scripts: int, records: int = 20, size_kb: float = 50.0) -> Built:
    rng = random.Random(f"pgolf-sweep-bench:{refs}:{scripts}:{records}")
    out.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", str(out)], check=True)
    stream = _Stream()
    small = "import torch\n\n\ndef main():\n    print('a merged record')\n"
    base: dict[str, bytes] = {
        "README.md": b"# Parameter Golf (benchmark copy)\n",
        "train_gpt.py": b"print('baseline')\n",
    }
    for index in range(records):
        score = 1.25 - index * 0.001
        folder = f"{TEN_MIN}/2026-03-{1 + index % 28:02d}_Record{index:02d}"
        for name, text in record_files((score, score + 0.0004, score - 0.0003), small).items():
            base[f"{folder}/{name}"] = text.encode()
    main = stream.commit("refs/heads/main", "the challenge repository", base, None)
    best = 1.25 - (records - 1) * 0.001

    built = Built(out)
    for number in range(1, refs + 1):
        # Squaring a uniform draw skews towards the first scripts: a few are copied widely.
        index = int(scripts * rng.random() ** 2)
        if index not in built.scripts:
            built.scripts[index] = generate_script(seed=1000 + index, size_kb=size_kb)
        code = built.scripts[index]
        record = rng.random() < 0.7
        mean = best - rng.uniform(-0.004, 0.012)
        scores = tuple(round(mean + rng.uniform(-0.0006, 0.0006), 8) for _ in range(3))
        track = (TEN_MIN, "10min_16mb") if record else (NON_RECORD, "non_record_16mb")
        folder = f"{track[0]}/2026-05-{1 + number % 28:02d}_Pr{number:04d}"
        files = {
            f"{folder}/{name}": text.encode()
            for name, text in record_files(
                (scores[0], scores[1], scores[2]), code, track[1]
            ).items()
        }
        # The generated scripts import zstandard, which the base image lacks.
        files[f"{folder}/requirements.txt"] = b"zstandard\n"
        if rng.random() < 0.1:
            files["README.md"] = f"# Parameter Golf\n\nEdited by pull request {number}.\n".encode()
        ref = f"refs/pull/{number}/head"
        stream.commit(ref, f"pull request {number}", files, main)
        built.script_of[ref] = index
    subprocess.run(
        ["git", "-C", str(out), "fast-import", "--quiet"],
        input=b"".join(stream.parts),
        check=True,
    )
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--refs", type=int, default=500, help="pull-request refs")
    parser.add_argument("--pool", type=int, default=300, help="scripts the refs draw from")
    parser.add_argument("--records", type=int, default=20, help="merged records in the base")
    parser.add_argument("--size-kb", type=float, default=50.0, help="size of each script")
    parser.add_argument("--out", type=Path, required=True, help="the bare repository to create")
    ns = parser.parse_args(argv)
    built = build(ns.out, ns.refs, ns.pool, ns.records, ns.size_kb)
    print(f"wrote {ns.refs} refs using {len(built.scripts)} distinct scripts to {ns.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
