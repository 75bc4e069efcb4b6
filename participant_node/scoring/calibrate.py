"""``fedcredit node calibrate``: fit the member's calibration into a model artifact.

Which rows. Calibration must be fitted on labelled rows the model did *not* train on, or the
fit inherits the training optimism. By default the command takes the same stratified 20%
holdout that ``fedcredit node start`` sets aside from a data file (``--holdout-fraction 0.2
--seed 0``, :func:`participant_node.deploy.stratified_mask` on the file's rows in file order):
given the file the node trained from, these are exactly its holdout rows, which never entered
DP-SGD. For a file of outcomes observed after training (rows the model never saw) give
``--holdout-fraction 1`` to use every row. A simulation member's holdout is reproduced with
the simulation's seed (``--seed 42`` for the first member of ``fedcredit sim run --seed 42``).

What it does: model PDs of those rows *without* any calibration the input already carries,
fit Platt (default) or isotonic (:mod:`calibration`), report Brier/ECE and the reliability
table before and after (the "after" is out-of-fold: each row calibrated by a map fitted on the
other folds, so the gain is not an in-sample artefact; in-sample is shown too), and the tier
spread before and after under the policy. Then write ``--out`` atomically with the new
calibration and checksum. The input is replaced only when ``--out`` names it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from participant_node.data import Preprocessor
from participant_node.deploy import HOLDOUT_FRACTION, stratified_mask
from participant_node.scoring.artifact import ArtifactError, ModelArtifact
from participant_node.scoring.calibration import METHODS, fit_calibration
from participant_node.scoring.points import assign_tier, pd_to_points
from participant_node.scoring.policy import TIERS
from participant_node.scoring.scorer import Scorer


def holdout_rows(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Mask of the rows to fit on: all for ``fraction == 1``, else ``node start``'s holdout."""
    if not 0 < fraction <= 1:
        raise ValueError(f"holdout fraction must be in (0, 1]; got {fraction}")
    return np.ones(len(y), dtype=bool) if fraction == 1 else stratified_mask(y, fraction, seed)


def calibrate_artifact(
    scorer: Scorer, frame: pd.DataFrame, *, method: str, fraction: float, seed: int,
    source: str = "", bins: int = 10, folds: int = 5,
) -> tuple[ModelArtifact, dict[str, Any]]:  # fmt: skip
    """The scorer's artifact with a calibration fitted on ``frame``'s holdout rows.

    Returns the new artifact (not saved) and the report of :func:`fit_calibration` with
    ``pd_before`` / ``pd_after`` (model PDs of the fitted rows) added.

    Raises
    ------
    ValueError
        No label column, a label outside the contract, one class only, bad fraction.
    """
    contract = scorer.artifact.contract
    if contract.label not in frame.columns:
        raise ValueError(
            f"calibration needs outcomes: the data lacks the label column {contract.label!r} "
            "(rule: labelled rows)"
        )
    y = Preprocessor(contract).labels(frame).astype(np.int64)
    mask = holdout_rows(y, fraction, seed)
    rows = frame.loc[mask]
    p = scorer.model_pd(rows, calibrated=False)
    cal, report = fit_calibration(p, y[mask], method, bins=bins, folds=folds, seed=seed)
    after = report["after"] or report["after_in_sample"]
    fit = {
        "source": source,
        "rows": report["rows"],
        "of_rows": len(frame),
        "defaults": report["defaults"],
        "holdout_fraction": fraction,
        "seed": seed,
        "folds": report["folds"],
        "brier_before": report["before"]["brier"],
        "ece_before": report["before"]["ece"],
        "brier_after": after["brier"],
        "ece_after": after["ece"],
        "brier_in_sample": report["after_in_sample"]["brier"],
        "ece_in_sample": report["after_in_sample"]["ece"],
        "fitted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    art = scorer.artifact.with_calibration({**cal.state_dict(), "fit": fit})
    return art, {**report, "pd_before": p, "pd_after": cal.transform(p)}


def calibrate_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Model file to calibrate."),
    data: Path = typer.Option(..., "--data", "-d", help="Labelled member rows (CSV/Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="Calibrated model file to write."),
    method: str = typer.Option("platt", "--method", help="platt | isotonic"),
    holdout_fraction: float = typer.Option(
        HOLDOUT_FRACTION,
        "--holdout-fraction",
        help="Fit on this stratified share (node start's holdout); 1 = every row.",
    ),
    seed: int = typer.Option(0, "--seed", help="Holdout seed (node start uses 0)."),
    contract: Path | None = typer.Option(
        None, "--contract", "-c", help="Consortium contract; must match the model's."
    ),
    graph_features: Path | None = typer.Option(
        None, "--graph-features", help="The association's graph-feature table."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Scoring policy, for tiers."),
    encoding: str | None = typer.Option(None, "--encoding", "-e", help="CSV text encoding."),
) -> None:
    """Fit Platt or isotonic calibration on own labelled holdout rows; write a new model."""
    from participant_node.cli import _fail
    from participant_node.scoring.commands import _read, load_validated

    console = Console(highlight=False)

    def load() -> Scorer:
        if method not in METHODS:
            raise ValueError(f"--method must be one of {', '.join(METHODS)}; got {method!r}")
        holdout_rows(np.zeros(0), holdout_fraction, seed)  # checks the fraction up front
        return Scorer.load(model, policy, graph_features)

    scorer = load_validated(console, load, contract, data, encoding, require_label=True)
    art = scorer.artifact
    try:
        frame = _read(data, encoding)
        new, rep = calibrate_artifact(
            scorer, frame, method=method, fraction=holdout_fraction, seed=seed,
            source=f"{data.name} sha256:{_file_sha256(data)[:16]}",
        )  # fmt: skip
    except (ValueError, ArtifactError) as exc:
        raise _fail(console, f"{data}: {exc}") from None
    _print_report(console, new, rep, scorer, holdout_fraction, seed, len(frame))
    if art.calibration is not None:
        console.print(f"replaced the {art.calibration.get('method', 'platt')} calibration "
                      "the input carried (fitted on uncalibrated PDs)")  # fmt: skip
    same = out.resolve() == model.resolve()
    new.save(out)
    console.print(
        f"wrote {out}{' (in place: --out names the input)' if same else ''}: "
        f"{method} calibration, sha256 {new.sha256[:16]}",
        soft_wrap=True,
    )


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _print_report(
    console: Console, art: ModelArtifact, rep: dict[str, Any], scorer: Scorer,
    fraction: float, seed: int, total: int,
) -> None:  # fmt: skip
    which = "every row" if fraction == 1 else f"the stratified {fraction:.0%} holdout, seed {seed}"
    console.print(
        f"fitting {rep['method']} on {rep['rows']:,} of {total:,} rows ({which}; "
        f"{rep['defaults']:,} defaults)",
        soft_wrap=True,
    )
    before, after, ins = rep["before"], rep["after"], rep["after_in_sample"]
    label = f"after ({rep['folds']}-fold out-of-fold)" if after else "after (in-sample only)"
    after = after or ins
    pb, pa = rep["pd_before"], rep["pd_after"]
    obs = rep["defaults"] / rep["rows"]
    table = Table(title=f"calibration of {art.kind} run {art.run_id} on own holdout")
    for col in ("", "before", label, "after (in-sample)"):
        table.add_column(col, justify="right")
    table.add_row("Brier", f"{before['brier']:.5f}", f"{after['brier']:.5f}", f"{ins['brier']:.5f}")
    table.add_row("ECE", f"{before['ece']:.5f}", f"{after['ece']:.5f}", f"{ins['ece']:.5f}")
    table.add_row("mean PD", f"{pb.mean():.4f}", f"{_mean(after):.4f}", f"{pa.mean():.4f}")
    table.add_row("default rate", f"{obs:.4f}", f"{obs:.4f}", f"{obs:.4f}")
    console.print(table)
    console.print(
        f"tiers A / B / C / D of these rows (policy cut-offs, no overlay): before "
        f"{_tiers(pb, scorer)}, after {_tiers(pa, scorer)}",
        soft_wrap=True,
    )
    rel = Table(title="reliability: mean PD vs default rate per PD bin (before | after)")
    for col in ("PD bin", "n", "mean PD", "default rate", "n ", "mean PD ", "default rate "):
        rel.add_column(col, justify="right")
    rows_b = {r["bin"]: r for r in before["rows"]}
    rows_a = {r["bin"]: r for r in (rep["after"] or {"rows": []})["rows"]}
    for b in sorted(set(rows_b) | set(rows_a)):
        cells = []
        for rows in (rows_b, rows_a):
            r = rows.get(b)
            cells += (
                ["", "", ""]
                if r is None
                else [f"{r['count']:,}", f"{r['predicted']:.4f}", f"{r['observed']:.4f}"]
            )
        rel.add_row(b, *cells)
    console.print(rel)


def _mean(table: dict[str, Any]) -> float:
    """Mean PD of a reliability table (from its bins), or NaN for a bin-less summary."""
    rows = table.get("rows")
    if not rows:
        return float("nan")
    return sum(r["count"] * r["predicted"] for r in rows) / sum(r["count"] for r in rows)


def _tiers(p: np.ndarray, scorer: Scorer) -> str:
    tiers = assign_tier(pd_to_points(p, scorer.policy), scorer.policy)
    return " / ".join(str(int((tiers == t).sum())) for t in TIERS)
