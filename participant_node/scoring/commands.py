"""``fedcredit node score`` and ``export-model`` (``calibrate`` lives in :mod:`calibrate`);
registered by ``participant_node/cli.py``."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from participant_node.data import ContractError, Preprocessor, load_contract, validate_file
from participant_node.graph_join import (
    GRAPH_FEATURES,
    join_graph_features,
    read_feature_table,
)
from participant_node.scoring.policy import TIERS, PolicyError
from participant_node.scoring.scorer import Scorer, ScoreResult
from participant_node.scoring.warnings import WarningState


def _read(path: Path, encoding: str | None) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, encoding=encoding)


def load_validated(
    console: Console,
    load: Callable[[], Scorer],
    contract: Path | None,
    data: Path,
    encoding: str | None,
    *,
    require_label: bool,
) -> Scorer:
    """Load the scorer, check the contract matches the model's, validate ``data`` against the
    member's own columns (the contract less the graph features); exit with every error named."""
    from participant_node.cli import _fail, _print_errors

    try:
        scorer = load()
        art = scorer.artifact
        if contract is not None and load_contract(contract).fingerprint() != (
            art.contract.fingerprint()
        ):
            raise ValueError(f"{contract}: contract fingerprint differs from the model's")
    except (OSError, ValueError, ContractError, PolicyError) as exc:
        raise _fail(console, str(exc)) from None
    own = replace(
        art.contract,
        features=tuple(f for f in art.contract.features if f.name not in art.graph_feature_columns),
    )
    report = validate_file(data, own, encoding=encoding, require_label=require_label)
    if not report.ok:
        _print_errors(console, report)
        raise typer.Exit(code=1)
    return scorer


def results_frame(results: list[ScoreResult]) -> pd.DataFrame:
    """The ``scores.csv`` layout: one row per company, reasons and warnings as text."""
    return pd.DataFrame(
        {
            "company_id": [r.company_id for r in results],
            "pd_model": [round(r.pd_model, 6) for r in results],
            "pd_final": [round(r.pd_final, 6) for r in results],
            "points": [r.points for r in results],
            "tier": [r.tier for r in results],
            "terms_days": [r.terms["days"] for r in results],
            "terms": [r.terms["text"] for r in results],
            "in_guarantee_circle": [r.in_guarantee_circle for r in results],
            "reasons": [
                "; ".join(
                    f"{x['feature']}={x['value']} ({x['contribution']:+.3f})" for x in r.reasons
                )
                for r in results
            ],
            "evidence": ["; ".join(r.evidence) for r in results],
            "warnings": [";".join(w["code"] for w in r.warnings) for r in results],
            "warning_reasons": ["; ".join(w["reason"] for w in r.warnings) for r in results],
        }
    )


def _atomic_csv(frame: pd.DataFrame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        frame.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def score_cmd(
    model: Path = typer.Option(
        ..., "--model", "-m", help="Model file (fedcredit node export-model)."
    ),
    data: Path = typer.Option(..., "--data", "-d", help="Customers to score (CSV or Parquet)."),
    out: Path = typer.Option(..., "--out", "-o", help="scores.csv to write."),
    contract: Path | None = typer.Option(
        None, "--contract", "-c", help="Consortium contract; must match the model's."
    ),
    graph_features: Path | None = typer.Option(
        None, "--graph-features", help="The association's graph-feature table."
    ),
    graph: Path | None = typer.Option(
        None, "--graph", help="Registry folder (guarantees/defaults/companies CSV) for overlay."
    ),
    policy: Path | None = typer.Option(None, "--policy", help="Scoring policy (TOML)."),
    previous: Path | None = typer.Option(
        None, "--previous", help="Previous scores.csv, for downgrade/jump warnings."
    ),
    encoding: str | None = typer.Option(None, "--encoding", "-e", help="CSV text encoding."),
) -> None:
    """Score customers: PD, points, tier, credit terms, reasons and early warnings."""
    from participant_node.cli import _fail

    console = Console(highlight=False)
    t0 = time.perf_counter()

    def load() -> Scorer:
        state = WarningState.from_scores(previous) if previous is not None else None
        return Scorer.load(model, policy, graph_features, graph, state)

    scorer = load_validated(console, load, contract, data, encoding, require_label=False)
    art = scorer.artifact
    try:
        frame = _read(data, encoding)
        results = scorer.score(frame)
    except ValueError as exc:
        raise _fail(console, f"{data}: {exc}") from None
    _atomic_csv(results_frame(results), out)
    _summary(console, scorer, results, out, time.perf_counter() - t0)
    label = art.contract.label
    if label in frame.columns:
        _calibration(console, scorer, frame, results, out)


def _summary(
    console: Console, scorer: Scorer, results: list[ScoreResult], out: Path, seconds: float
) -> None:
    tiers = Counter(r.tier for r in results)
    table = Table(title=f"{len(results):,} companies scored in {seconds:.2f} s")
    for col in ("tier", "companies", "terms"):
        table.add_column(col, justify="right" if col == "companies" else "left")
    for t in TIERS:
        table.add_row(t, f"{tiers.get(t, 0):,}", scorer.policy.terms[t].text)
    console.print(table)
    codes = Counter(w["code"] for r in results for w in r.warnings)
    overlay = "on" if results and results[0].overlay else "off (no --graph or weight 0)"
    cal = scorer.artifact.calibration
    if cal is None:
        console.print("model PD calibration: none (fit one with fedcredit node calibrate)")
    else:
        fit = cal.get("fit", {})
        console.print(
            f"model PD calibration: {cal.get('method', 'platt')}, fitted on "
            f"{fit.get('rows', '?')} labelled rows of {fit.get('source') or 'own data'} "
            f"(Brier {_num(fit.get('brier_before'))} -> {_num(fit.get('brier_after'))} "
            "out-of-fold)",
            soft_wrap=True,
        )
    console.print(f"contagion overlay: {overlay}")
    console.print(
        "warnings: " + (", ".join(f"{k} {v:,}" for k, v in sorted(codes.items())) or "none")
    )
    console.print(f"wrote {out}")


def _num(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "?"


def _calibration(
    console: Console, scorer: Scorer, frame: pd.DataFrame, results: list[ScoreResult], out: Path
) -> None:
    from participant_node.scoring.calibration import reliability_table

    y = Preprocessor(scorer.artifact.contract).labels(frame)
    rep = reliability_table(pd.Series([r.pd_model for r in results]).to_numpy(), y)
    path = out.with_suffix(".calibration.json")
    path.write_text(json.dumps(rep, indent=1))
    table = Table(
        title=f"calibration (labels present): Brier {rep['brier']:.4f}, ECE {rep['ece']:.4f}"
    )
    for col in ("PD bin", "companies", "mean PD", "default rate"):
        table.add_column(col, justify="right")
    for row in rep["rows"]:
        table.add_row(row["bin"], f"{row['count']:,}", f"{row['predicted']:.4f}",
                      f"{row['observed']:.4f}")  # fmt: skip
    console.print(table)
    console.print(f"wrote {path}")


def export_model_cmd(
    store: Path = typer.Option(..., "--store", help="The run store (runstore.sqlite) of the run."),
    contract: Path = typer.Option(..., "--contract", "-c", help="Consortium contract (TOML)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (model.json)."),
    private_key: Path | None = typer.Option(
        None, "--private-key", help="Consortium private key (this member's copy)."
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Consortium public key (default: the run config's path)."
    ),
    run_id: str | None = typer.Option(None, "--run-id", help="Run (default: the newest)."),
    reference_data: Path | None = typer.Option(
        None, "--reference-data", help="Own rows whose mean is the reason-code reference."
    ),
    graph_features: Path | None = typer.Option(
        None, "--graph-features", help="Graph-feature table joined to --reference-data."
    ),
) -> None:
    """Decrypt a run's last checkpoint with the member's key and write the model file."""
    from participant_node.cli import _fail
    from participant_node.scoring.checkpoint import export_from_store

    console = Console(highlight=False)
    try:
        spec = load_contract(contract)
        reference = None
        if reference_data is not None:
            rows = _read(reference_data, None)
            if graph_features is not None:
                table = read_feature_table(graph_features)
                rows = join_graph_features(rows, table, id_column=spec.id_column or "company_id")
            missing = [c for c in GRAPH_FEATURES if c in spec.feature_names and c not in rows]
            if missing:
                raise ValueError(f"{reference_data}: lacks graph feature columns {missing}")
            reference = Preprocessor(spec).transform(rows).mean(axis=0)
        art = export_from_store(
            store,
            contract=spec,
            out=out,
            private_key=private_key,
            public_key=public_key,
            run_id=run_id,
            reference=reference,
        )
    except (OSError, ValueError, RuntimeError, ContractError) as exc:
        raise _fail(console, str(exc)) from None
    att = art.attestation
    console.print(
        f"wrote {out}: {art.kind} model, run {art.run_id} round {art.round}, "
        f"{att.get('scheme')} under {str(att.get('key_fingerprint'))[:23]}, "
        f"DP {'on' if att.get('dp') else 'OFF'} (max epsilon {att.get('epsilon')}), "
        f"sha256 {art.sha256[:16]}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    """Add ``score``, ``calibrate`` and ``export-model`` to the ``fedcredit node`` app."""
    from participant_node.scoring.calibrate import calibrate_cmd

    app.command("score")(score_cmd)
    app.command("calibrate")(calibrate_cmd)
    app.command("export-model")(export_model_cmd)
