"""The four code-counting schemes of records.md §6.9, recognised and recomputed by ``pgolf verify``.

Each test writes a record folder whose script counts its code one way and whose logs print what
such a run prints; the counted size the tests expect is computed here, step by step, with
python-minifier and the standard compressors.
"""

from __future__ import annotations

import base64
import lzma
import re
from pathlib import Path

import python_minifier
from test_verify import GOOD_RUNS, Run, write_record

from pgolf_cli.records.size import code_scheme, declared_wrapper
from pgolf_cli.records.verify import verify_folder

LZMA_HEAD = b'import lzma as L,base64 as B\nexec(L.decompress(B.b85decode("'
TAIL = b'")))\n'

# A script that logs the size of a hypothetical lzma wrapper around its minified self, with a
# long docstring and comments that the minifier drops (so raw and counted sizes differ a lot).
WRAPPER_SCRIPT = (
    '"""A records script.\n\n'
    + "Explains the method at length. " * 600
    + '\n"""\n'
    + """\
import base64
import lzma
import subprocess
from pathlib import Path


def counted_code_size(code):
    raw = code.encode("utf-8")
    minified = subprocess.run(
        ["pyminify", "--no-rename-locals", "--no-hoist-literals", "--remove-literal-statements", "-"],
        input=raw, capture_output=True, check=True,
    ).stdout
    compressed = lzma.compress(minified)
    encoded = base64.b85encode(compressed)
    wrapper = b'import lzma as L,base64 as B\\nexec(L.decompress(B.b85decode("' + encoded + b'")))\\n'
    return len(raw), len(wrapper)


def main():
"""
    + "".join(
        f"    # step {i}: a comment the minifier removes\n    x{i} = {i} * 2\n" for i in range(300)
    )
    + """    print(counted_code_size(Path(__file__).read_text()))


if __name__ == "__main__":
    main()
"""
)

MODEL_BYTES = 15_985_000


def expected_wrapper_size(text: str) -> int:
    minified = python_minifier.minify(
        text, rename_locals=False, hoist_literals=False, remove_literal_statements=True
    ).encode("utf-8")
    return len(LZMA_HEAD) + len(base64.b85encode(lzma.compress(minified))) + len(TAIL)


def relog(folder: Path, replace: str) -> None:
    """Rewrite every log's ``Code size`` and ``Total`` lines: ``replace`` is the new code-size
    text, the total becomes model + the last number in it."""
    counted = int(re.findall(r"(\d+) bytes", replace)[-1])
    for log in folder.glob("train_seed*.log"):
        text = log.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^Code size: \d+ bytes$", replace, text)
        text = re.sub(
            r"(?m)^(Total submission size \S+): \d+ bytes$",
            lambda m: f"{m[1]}: {MODEL_BYTES + counted} bytes",
            text,
        )
        log.write_text(text, encoding="utf-8")


def wrapper_folder(tmp_path: Path, counted: int) -> Path:
    runs = tuple(Run(r.seed, r.val_bpb, model_bytes=MODEL_BYTES) for r in GOOD_RUNS)
    folder = write_record(tmp_path, runs=runs, script=WRAPPER_SCRIPT)
    raw = len(WRAPPER_SCRIPT.encode("utf-8"))
    relog(
        folder,
        f"Code size (uncompressed): {raw} bytes\nCode size (compressed): {counted} bytes",
    )
    return folder


def test_the_declared_wrapper_is_read_from_the_script() -> None:
    wrapper = declared_wrapper(WRAPPER_SCRIPT)
    assert wrapper is not None
    assert wrapper.flags == (
        "--no-rename-locals",
        "--no-hoist-literals",
        "--remove-literal-statements",
    )
    assert (wrapper.compressor, wrapper.level) == ("lzma", None)
    assert wrapper.overhead == len(LZMA_HEAD) + len(TAIL)


def test_a_counted_wrapper_is_recomputed_and_judged_on_the_log(tmp_path: Path) -> None:
    counted = expected_wrapper_size(WRAPPER_SCRIPT)
    raw = len(WRAPPER_SCRIPT.encode("utf-8"))
    # As shipped, the script would push the artifact over the cap; counted, it is under.
    assert MODEL_BYTES + raw > 16_000_000 > MODEL_BYTES + counted
    report = verify_folder(wrapper_folder(tmp_path, counted), audit=False)
    size = report.check("size")
    assert size.status == "pass", size.message
    assert f"the recomputed {counted:,} bytes confirms (+0.00% from {counted:,})" in size.message
    code = report.check("code-size")
    # A wrapper count is legal practice, but a maintainer weighs it.
    assert code.status == "warn"
    assert f"raw {raw:,}, recomputed {counted:,}, logged {counted:,}" in code.message
    assert "counted by a wrapper" in code.message and "+0.00% from the log's" in code.message
    assert f"counted code, recomputed: {counted} bytes" in code.evidence
    assert report.outcome == "needs-review"


def test_a_wrapper_that_does_not_recompute_is_said_so(tmp_path: Path) -> None:
    counted = expected_wrapper_size(WRAPPER_SCRIPT)
    logged = int(counted * 0.9)  # the run counted other (smaller) code
    report = verify_folder(wrapper_folder(tmp_path, logged), audit=False)
    code = report.check("code-size")
    assert code.status == "warn"
    assert "outside ±1%" in code.message and f"logged {logged:,}" in code.message
    # The folder's own logs keep it under the cap: the size check does not fail it.
    size = report.check("size")
    assert size.status == "pass" and "does not confirm" in size.message


def test_a_self_extracting_script_counts_its_own_size(tmp_path: Path) -> None:
    from test_verify import CLEAN_SCRIPT

    payload = base64.b85encode(lzma.compress(CLEAN_SCRIPT.encode("utf-8")))
    packed = (LZMA_HEAD + payload + TAIL).decode("ascii")
    folder = write_record(tmp_path, script=packed)
    scheme = code_scheme(folder, logs_count_wrapper=False)
    assert scheme is not None
    assert (scheme.kind, scheme.counted_bytes) == ("self-extracting", len(packed))
    check = verify_folder(folder, audit=False).check("code-size")
    assert check.status == "pass", check.message
    assert "self-extracting" in check.message


def test_a_shim_counts_the_file_it_runs_and_is_over_by_its_logs(tmp_path: Path) -> None:
    from test_verify import CLEAN_SCRIPT

    shim = 'exec(open("train_gpt_impl.py").read())\n'
    impl = CLEAN_SCRIPT + "# notes\n" * 4_000
    runs = tuple(Run(r.seed, r.val_bpb, model_bytes=MODEL_BYTES) for r in GOOD_RUNS)
    folder = write_record(tmp_path, runs=runs, script=shim)
    (folder / "train_gpt_impl.py").write_text(impl, encoding="utf-8")
    relog(folder, f"Code size: {len(impl)} bytes")  # the log counts the file that runs
    report = verify_folder(folder, audit=False)
    code = report.check("code-size")
    counted = len(shim) + len(impl)
    assert code.status == "warn"
    assert f"raw {len(shim)}, recomputed {counted:,}" in code.message
    assert "launcher for train_gpt_impl.py" in code.message
    size = report.check("size")
    assert size.status == "fail" and "over the cap" in size.message
    assert report.outcome == "fail"


def test_a_json_exact_at_the_logs_precision_passes(tmp_path: Path) -> None:
    # One log that prints its score with 4 decimals; the json quotes it with 4 as well.
    folder = write_record(tmp_path, runs=(Run(1337, 1.2012),), declared_seeds=())
    log = folder / "train_seed1337.log"
    text = log.read_text(encoding="utf-8")
    text = "\n".join(line for line in text.split("\n") if "_exact" not in line)
    log.write_text(text, encoding="utf-8")
    check = verify_folder(folder, audit=False, record_claim=False).check("json-matches-logs")
    assert check.status == "pass", check.message
    assert "exact at the logs' 4 decimals" in check.message
