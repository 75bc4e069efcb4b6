"""Streaming validation of a large member file (1 GB by default; ``--quick``: 32 MB).

Builds a CSV in a temporary folder by repeating the rows of ``data/lending_club.csv`` (real
values, 22 features and the label) with a unique ``loan_id`` column in front, so every check
runs, duplicate-id detection included. Then, each in a fresh child process so that peak RSS is
its own:

* **ours**: ``validate_file`` (streams the file in 4 MB pieces);
* **naive**: the peer approach, ``pd.read_csv`` of the whole file followed by the same checks
  on the in-memory frame (``validate_frame``);

and reports seconds, MB/s, peak RSS and the ratios naive/ours. A last row times encoding
(``read_table`` + ``Preprocessor.transform`` + ``labels``) of the first ~500k rows
(``--quick``: ~50k). The temporary file is deleted afterwards.

Prints a table and writes ``benchmarks/results/ingest_stream.json`` (``--out`` elsewhere), with
the machine description and load average: the machine may be shared, so read timings taken
under contention as upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from support.machine import describe_machine  # noqa: E402  (benchmarks/ helper)

from participant_node.data import infer_contract  # noqa: E402

LENDING_CLUB = ROOT / "data" / "lending_club.csv"
ID_PLACEHOLDER = b"#######"

_CHILD = r"""
import json, sys, time
import pandas as pd
from participant_node.data import (load_contract, validate_file, validate_frame, read_table,
                                   Preprocessor)
mode, data, contract_path, nrows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
contract = load_contract(contract_path)
t0 = time.perf_counter()
if mode == "ours":
    report = validate_file(data, contract)
    out = {"ok": report.ok, "rows": report.rows, "errors": report.error_count}
elif mode == "naive":
    frame = pd.read_csv(data)
    report = validate_frame(frame, contract)
    out = {"ok": report.ok, "rows": report.rows, "errors": report.error_count}
else:
    df = read_table(data, contract)
    t_read = time.perf_counter() - t0
    pre = Preprocessor(contract)
    t1 = time.perf_counter()
    x = pre.transform(df)
    y = pre.labels(df)
    out = {"ok": True, "rows": int(x.shape[0]), "width": int(x.shape[1]),
           "read_s": t_read, "transform_s": time.perf_counter() - t1, "positives": int(y.sum())}
out["seconds"] = time.perf_counter() - t0
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:")][0]
out["peak_rss_mb"] = int(hwm.split()[1]) / 1024  # VmHWM: reset by exec, unlike ru_maxrss
print(json.dumps(out))
"""


def _machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("numpy", "pandas", "pyarrow")


def write_big_csv(path: Path, target_bytes: int) -> tuple[int, int]:
    """Repeat Lending Club's rows, each with a unique ``loan_id``, until ``target_bytes``.

    Returns (data rows, bytes). O(size): one ``bytes.replace`` per repeated block.
    """
    header, body = LENDING_CLUB.read_bytes().split(b"\n", 1)
    lines = [ln for ln in body.split(b"\n") if ln]
    template = b"".join(
        b"L" + ID_PLACEHOLDER + b"-%05d," % i + ln + b"\n" for i, ln in enumerate(lines)
    )
    rows = written = 0
    with path.open("wb") as fh:
        fh.write(b"loan_id," + header + b"\n")
        written = len(header) + 9
        block = 0
        while written < target_bytes:
            chunk = template.replace(ID_PLACEHOLDER, b"%07d" % block)
            fh.write(chunk)
            written += len(chunk)
            rows += len(lines)
            block += 1
    return rows, written


def run_child(mode: str, data: Path, contract: Path, nrows: int = 0) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; returns its JSON line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(data), str(contract), str(nrows)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the JSON document it writes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="32 MB file, 50k rows to encode")
    ap.add_argument("--size-mb", type=float, default=None, help="file size (default 1024)")
    ap.add_argument("--no-naive", action="store_true", help="skip the whole-file pandas run")
    ap.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest_stream.json"
    )
    args = ap.parse_args(argv)
    size_mb = args.size_mb or (32.0 if args.quick else 1024.0)
    encode_rows = 50_000 if args.quick else 500_000
    console = Console()
    lc = pd.read_csv(LENDING_CLUB)
    lc.insert(0, "loan_id", [f"x{i}" for i in range(len(lc))])
    contract = infer_contract(lc, label="Class", positive="bad", id_column="loan_id")
    results: dict[str, Any] = {"machine": _machine(), "size_mb": size_mb, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="fedcredit-ingest-") as tmp:
        folder = Path(tmp)
        contract_path = contract.save(folder / "contract.toml")
        data = folder / "big.csv"
        t0 = time.perf_counter()
        rows, nbytes = write_big_csv(data, int(size_mb * 2**20))
        results["generate_s"] = time.perf_counter() - t0
        results["rows"], results["bytes"] = rows, nbytes
        console.print(
            f"wrote {nbytes / 2**20:.0f} MB, {rows} rows in {results['generate_s']:.1f} s"
        )
        modes = ["ours"] if args.no_naive else ["ours", "naive"]
        for mode in modes:
            r = run_child(mode, data, contract_path)
            if not r["ok"] or r["rows"] != rows:
                raise RuntimeError(f"{mode}: unexpected result {r}")
            r["mb_per_s"] = nbytes / 2**20 / r["seconds"]
            results["runs"][mode] = r
        small = folder / "encode.csv"
        write_big_csv(small, int(encode_rows * nbytes / rows))
        results["encode"] = run_child("encode", small, contract_path)
    runs = results["runs"]
    if "naive" in runs:
        results["ratios"] = {
            "time_naive_over_ours": runs["naive"]["seconds"] / runs["ours"]["seconds"],
            "rss_naive_over_ours": runs["naive"]["peak_rss_mb"] / runs["ours"]["peak_rss_mb"],
        }
    table = Table(title=f"validate a {nbytes / 2**20:.0f} MB CSV ({rows} rows)")
    for col in ("approach", "seconds", "MB/s", "peak RSS MB"):
        table.add_column(col, justify="right" if col != "approach" else "left")
    for mode, r in runs.items():
        label = (
            "ours: validate_file (streamed)"
            if mode == "ours"
            else "naive: pd.read_csv + validate_frame"
        )
        table.add_row(
            label, f"{r['seconds']:.1f}", f"{r['mb_per_s']:.1f}", f"{r['peak_rss_mb']:.0f}"
        )
    console.print(table)
    if "ratios" in results:
        ra = results["ratios"]
        console.print(
            f"naive/ours: time x{ra['time_naive_over_ours']:.2f}, "
            f"peak RSS x{ra['rss_naive_over_ours']:.2f}"
        )
    enc = results["encode"]
    console.print(
        f"encode {enc['rows']} rows -> {enc['width']} columns: read_table "
        f"{enc['read_s']:.2f} s, transform+labels {enc['transform_s']:.2f} s"
    )
    console.print(f"machine: {results['machine']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_out, args.out)
    return results


if __name__ == "__main__":
    main()
