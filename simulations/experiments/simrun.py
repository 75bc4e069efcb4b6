"""``fedcredit sim run``: one federated training on Flower's simulation engine, with baselines.

Steps: load the data (one CSV, or a consortium's member files) -> contract (given, or inferred
from the whole file and written to ``DIR/contract.toml``) -> validate -> partition into members
-> stratified 20% holdout per member -> encode with the contract -> run the ServerApp and
ClientApps on Flower's simulation engine -> decode the stored aggregates as a key holder ->
baselines on the same splits -> ``report.json``, ``report.md`` and plots.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coordinator.state import RunStore
from participant_node.codecs import MemberCodecs, member_codecs
from participant_node.config import MemberConfig
from participant_node.data import (
    Contract,
    DataValidationError,
    Preprocessor,
    infer_contract,
    infer_contract_file,
    load_contract,
    read_table,
    validate_frame,
)
from participant_node.graph_join import (
    GRAPH_FEATURES,
    check_feature_table,
    join_graph_features,
    read_feature_table,
)
from participant_node.metrics import HistogramMetrics, unpack_histograms
from participant_node.model import ModelSpec, build_from_spec, predict_proba, set_flat
from participant_node.partition import MemberPartition, save_partition, write_manifest
from privacy.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    generate_keypair,
    save_private_key,
    save_public_key,
)
from simulations.engine import run_simulation
from simulations.experiments import baselines
from simulations.experiments.partition import (
    MEMBER_COLUMN,
    assign_members,
    parse_partition,
    stratified_holdout,
)
from simulations.experiments.simrun_config import SimRunConfig

HOLDOUT_FRACTION = 0.2
Progress = Callable[[str], None]


def graph_table(cfg: SimRunConfig) -> pd.DataFrame | None:
    """The graph-feature table to join: none, computed from the consortium's registry files
    (``auto``; written to ``OUT/graph_features.parquet``), or a published table (a path)."""
    if cfg.graph_features == "none":
        return None
    if cfg.graph_features == "auto":
        if cfg.consortium is None:
            raise ValueError("--graph-features auto needs --consortium (the registry CSVs)")
        from graph_risk.features import compute_features, write_features
        from graph_risk.ingest import read_graph_dir

        frames, _ = read_graph_dir(cfg.consortium)
        table = compute_features(frames)
        write_features(table, cfg.out / "graph_features.parquet")
        return check_feature_table(table, source="computed graph features")
    return read_feature_table(cfg.graph_features)


def load_rows(cfg: SimRunConfig) -> tuple[pd.DataFrame, Contract]:
    """Read and validate the pooled rows (with a member column for a consortium).

    The contract is ``--contract`` when given; otherwise it is inferred from all the rows (a
    simulation stands in for the consortium agreeing on its contract) and written to
    ``OUT/contract.toml``. Either way every file is validated against it before training.
    Graph features, when asked for, are joined by company id after reading (each member does
    this locally) and validated against the contract's graph features.
    """
    given = load_contract(cfg.contract) if cfg.contract is not None else None
    table = graph_table(cfg)
    base = given
    if given is not None and table is not None:
        base = replace(
            given, features=tuple(f for f in given.features if f.name not in GRAPH_FEATURES)
        )
    if cfg.data is not None:
        if not cfg.data.is_file():
            raise FileNotFoundError(f"{cfg.data}: no such data file")
        base = base or infer_contract_file(cfg.data, cfg.label, cfg.positive, encoding=cfg.encoding)
        df = read_table(cfg.data, base, encoding=cfg.encoding)
    else:
        assert cfg.consortium is not None
        files = sorted((cfg.consortium / "members").glob("*.csv"))
        if not files:
            raise FileNotFoundError(f"{cfg.consortium / 'members'}: no member CSV files")
        if base is None:
            pooled = pd.concat([pd.read_csv(f, encoding=cfg.encoding) for f in files])
            base = infer_contract(
                pooled, label=cfg.label, positive=cfg.positive, id_column="company_id"
            )
        frames = []
        for f in files:
            part = read_table(f, base, encoding=cfg.encoding)
            part[MEMBER_COLUMN] = f.stem
            frames.append(part)
        df = pd.concat(frames, ignore_index=True)
    contract = base
    if table is not None:
        df = join_graph_features(df, table, id_column=base.id_column or "company_id")
        if given is not None:
            contract = given
            report = validate_frame(df.drop(columns=[MEMBER_COLUMN], errors="ignore"), given)
            if not report.ok:
                raise DataValidationError(report)
        else:
            graph_part = infer_contract(df[[*GRAPH_FEATURES, cfg.label]], cfg.label, cfg.positive)
            contract = base.with_features(graph_part.features)
    if given is None:
        contract.save(cfg.out / "contract.toml")
    return df, contract


def build_partitions(
    cfg: SimRunConfig, df: pd.DataFrame, contract: Contract
) -> list[MemberPartition]:
    """Assign members, split holdouts, encode with the contract."""
    return partition_rows(cfg, df, contract)[0]


def partition_rows(
    cfg: SimRunConfig, df: pd.DataFrame, contract: Contract
) -> tuple[list[MemberPartition], list[np.ndarray], list[np.ndarray]]:
    """:func:`build_partitions` plus each member's row indices into ``df``
    (``train_rows[i]``, ``holdout_rows[i]``), for experiments that need to know which rows
    a member trained on (membership inference)."""
    pre = Preprocessor(contract)
    x, y = pre.transform(df), pre.labels(df)
    owner = assign_members(df, parse_partition(cfg.partition), cfg.members, y, seed=cfg.seed)
    parts, train_rows, hold_rows = [], [], []
    for i, member in enumerate(sorted(set(owner.tolist()), key=lambda m: (m == "rest", m))):
        rows = np.flatnonzero(owner == member)
        hold = stratified_holdout(y[rows], HOLDOUT_FRACTION, seed=cfg.seed + i)
        parts.append(
            MemberPartition(
                member_id=str(member),
                x_train=x[rows[~hold]],
                y_train=y[rows[~hold]],
                x_holdout=x[rows[hold]],
                y_holdout=y[rows[hold]],
            )
        )
        train_rows.append(rows[~hold])
        hold_rows.append(rows[hold])
    return parts, train_rows, hold_rows


def run_config(
    cfg: SimRunConfig, parts_dir: Path, run_id: str
) -> dict[str, str | int | float | bool]:
    """The Flower run config handed to the ServerApp and every ClientApp."""
    return {
        "num-server-rounds": cfg.rounds,
        "min-members": max(1, len(list(parts_dir.glob("*.npz"))) // 2 + 1),
        "round-timeout": 600.0,
        "model": cfg.model,
        "mlp-hidden": cfg.mlp_hidden,
        "model-seed": cfg.seed,
        "local-epochs": cfg.local_epochs,
        "batch-size": cfg.batch_size,
        "learning-rate": cfg.learning_rate,
        "momentum": cfg.momentum,
        "hist-bins": cfg.hist_bins,
        "encryption": cfg.encryption,
        "insecure-plaintext": cfg.insecure_plaintext,
        "data-dir": str(parts_dir.resolve()),
        "out-dir": str(cfg.out.resolve()),
        "run-store": str((cfg.out / "runstore.sqlite").resolve()),
        "run-id": run_id,
        "dp": cfg.dp,
        "epsilon": cfg.epsilon,
        "delta": cfg.delta,
        "clip-norm": cfg.clip_norm,
        "weighting": cfg.weighting,
        "public-key": str((cfg.out / "keys" / PUBLIC_KEY_FILE).resolve())
        if cfg.encryption == "paillier"
        else "",
    }


def key_ceremony(cfg: SimRunConfig, parts_dir: Path) -> None:
    """Generate the consortium key pair: public key to ``OUT/keys`` (the coordinator's copy),
    private key to the members' secrets folder (mode 0600)."""
    if cfg.encryption != "paillier":
        return
    pub, priv = generate_keypair(cfg.key_bits)
    keys = cfg.out / "keys"
    shutil.rmtree(keys, ignore_errors=True)
    keys.mkdir(parents=True)
    save_public_key(keys / PUBLIC_KEY_FILE, pub)
    (parts_dir / "secrets").mkdir(parents=True, exist_ok=True)
    save_private_key(parts_dir / "secrets" / PRIVATE_KEY_FILE, priv)


def key_holder_codecs(cfg: SimRunConfig, parts_dir: Path, run_cfg: dict[str, Any]) -> MemberCodecs:
    """The codecs a member (key holder) decodes with; the harness plays that member."""
    settings = MemberConfig.from_run_config(run_cfg).privacy
    key = parts_dir / "secrets" / PRIVATE_KEY_FILE
    return member_codecs(settings, key if key.exists() else None)


def decode_federation(
    cfg: SimRunConfig,
    store_path: Path,
    run_id: str,
    parts: list[MemberPartition],
    codecs: MemberCodecs,
) -> dict[str, Any]:
    """Read the run store as a key holder: per-round metrics, final model, per-member AUC."""
    codec, hist_codec = codecs.update, codecs.histogram
    with RunStore(store_path) as store:
        evals = store.checkpoints(run_id, "evaluate")
        trains = store.checkpoints(run_id, "train")
        status = store.run(run_id)
    if not trains or not evals:
        raise RuntimeError(f"run {run_id} produced no aggregate: {status['reason']}")
    rounds = []
    for cp in evals:
        pos, neg = unpack_histograms(hist_codec.decode(cp.payload).values)
        m = HistogramMetrics.from_histograms(pos, neg)
        rounds.append(
            {
                "round": cp.round,
                "auc": m.auc,
                "ks": m.ks,
                "brier": m.brier,
                "members": len(cp.members),
            }
        )
    final_pos, final_neg = unpack_histograms(hist_codec.decode(evals[-1].payload).values)
    final = HistogramMetrics.from_histograms(final_pos, final_neg)
    spec = ModelSpec(kind=cfg.model, n_features=parts[0].n_features, hidden=cfg.mlp_hidden)
    model = build_from_spec(spec, seed=cfg.seed)
    final_params = codec.decode(trains[-1].payload).mean()
    set_flat(model, final_params)
    x_hold, y_hold = baselines.global_holdout(parts)
    scores = predict_proba(model, x_hold)
    pooled_auc, pooled_ks = baselines.auc_ks(scores, y_hold)
    per_member = {
        p.member_id: baselines.auc_ks(predict_proba(model, p.x_holdout), p.y_holdout)[0]
        for p in parts
    }
    rounds_done = len(trains)
    up_bytes = sum(c.bytes_up for c in trains) + sum(c.bytes_up for c in evals)
    member_rounds = sum(len(c.members) for c in trains)
    return {
        "status": status["status"],
        "reason": status["reason"],
        "auc": final.auc,
        "ks": final.ks,
        "brier": final.brier,
        "auc_exact_pooled": pooled_auc,
        "ks_exact_pooled": pooled_ks,
        "rounds": rounds,
        "per_member_auc": per_member,
        "scores": scores,
        "histograms": (final_pos, final_neg),
        "seconds_per_round": float(np.mean([c.seconds for c in trains])),
        "rounds_completed": rounds_done,
        "bytes_up_per_member_per_round": int(up_bytes / max(member_rounds, 1)),
        "scheme": codec.scheme,
        "scores_params": final_params,  # popped by export_sim_model before the report
    }


def privacy_report(cfg: SimRunConfig, store_path: Path, run_id: str) -> dict[str, Any]:
    """The report's ``privacy`` section, read back from the coordinator's attestations (what a
    member can verify), and ``OUT/attestations.jsonl`` written from them."""
    with RunStore(store_path) as store:
        records = store.attestations(run_id)
    path = cfg.out / "attestations.jsonl"
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
    eps: dict[str, float] = {}
    sigma: dict[str, float] = {}
    for r in records:
        for member, entry in r["per_member"].items():
            if entry.get("dp"):
                eps[member] = max(eps.get(member, 0.0), float(entry["epsilon"]))
                sigma[member] = float(entry["noise_multiplier"])
    last = records[-1] if records else {}
    dp_on = bool(eps) and all(e.get("dp") for r in records for e in r["per_member"].values())
    return {
        "dp": dp_on,
        "epsilon": max(eps.values()) if eps else None,
        "delta": cfg.delta if dp_on else None,
        "per_member_epsilon": eps,
        "noise_multiplier": min(sigma.values()) if sigma else None,
        "per_member_noise_multiplier": sigma,
        "clip_norm": cfg.clip_norm if dp_on else None,
        "weighting": cfg.weighting
        if cfg.weighting != "auto"
        else ("dp-noise" if dp_on else "rows"),
        "encryption": last.get("scheme", "none"),
        "insecure_plaintext": cfg.insecure_plaintext,
        "key_bits": last.get("key_bits"),
        "key_fingerprint": last.get("key_fingerprint"),
        "slot_bits": last.get("slot_bits"),
        "refusals": [x for r in records for x in r["refused"]],
        "attestations": str(path),
    }


def export_sim_model(
    cfg: SimRunConfig,
    contract: Contract,
    parts: list[MemberPartition],
    fed: dict[str, Any],
    run_id: str,
) -> None:
    """Write ``OUT/model.json`` as the key-holding harness member (``parts[0]``) would: the
    decrypted final model, its portfolio mean as the reason-code reference."""
    from participant_node.scoring import export_model

    lines = (cfg.out / "attestations.jsonl").read_text().splitlines()
    export_model(
        cfg.out / "model.json",
        flat=fed.pop("scores_params"),
        kind=cfg.model,
        hidden=cfg.mlp_hidden,
        contract=contract,
        run_id=run_id,
        round=int(fed["rounds_completed"]),
        attestations=[json.loads(line) for line in lines if line.strip()],
        graph_feature_columns=GRAPH_FEATURES,
        reference=parts[0].x_train.mean(axis=0),
    )


def run(cfg: SimRunConfig, progress: Progress = print) -> dict[str, Any]:
    """Execute the whole simulation; return the report dict (also written to ``cfg.out``)."""
    from simulations.report import write_report

    cfg.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    progress("loading and validating data")
    df, contract = load_rows(cfg)
    parts = build_partitions(cfg, df, contract)
    parts_dir = cfg.out / "partitions"
    shutil.rmtree(parts_dir, ignore_errors=True)
    for p in parts:
        save_partition(p, parts_dir)
    write_manifest(parts_dir, [p.member_id for p in parts])
    run_id = f"sim-{cfg.seed}-{int(time.time())}"
    key_ceremony(cfg, parts_dir)
    run_cfg = run_config(cfg, parts_dir, run_id)
    progress(f"federated training: {len(parts)} members x {cfg.rounds} rounds on Flower")
    t_fed = time.perf_counter()
    run_simulation(run_cfg, len(parts), cfg.out / "flwr-app")
    fed_wall = time.perf_counter() - t_fed
    codecs = key_holder_codecs(cfg, parts_dir, run_cfg)
    fed = decode_federation(cfg, cfg.out / "runstore.sqlite", run_id, parts, codecs)
    report: dict[str, Any] = {
        "federated": fed,
        "members": [
            {
                "id": p.member_id,
                "rows": int(len(p.y_train) + len(p.y_holdout)),
                "positives": int(p.y_train.sum() + p.y_holdout.sum()),
                "train_rows": len(p.y_train),
                "holdout_rows": len(p.y_holdout),
            }
            for p in parts
        ],
    }
    settings = MemberConfig.from_run_config(run_cfg).train
    model_spec = ModelSpec(kind=cfg.model, n_features=parts[0].n_features, hidden=cfg.mlp_hidden)
    if cfg.baselines:
        progress("baselines: centralised and local-only on the same splits")
        cen = baselines.centralised(
            model_spec, parts, settings, cfg.rounds, model_seed=cfg.seed, seed=cfg.seed
        )
        loc = baselines.local_only(
            model_spec, parts, settings, cfg.rounds, model_seed=cfg.seed, seed=cfg.seed
        )
        report["centralized"] = {
            "auc": cen.auc[-1],
            "ks": cen.ks[-1],
            "auc_per_round": cen.auc,
            "scores": cen.final_scores,
        }
        report["local_only"] = {
            "auc_mean": float(np.nanmean([c.auc[-1] for c in loc.values()])),
            "per_member": {m: c.auc[-1] for m, c in loc.items()},
            "auc_mean_per_round": [
                float(np.nanmean([c.auc[r] for c in loc.values()])) for r in range(cfg.rounds)
            ],
        }
    report["privacy"] = privacy_report(cfg, cfg.out / "runstore.sqlite", run_id)
    export_sim_model(cfg, contract, parts, fed, run_id)
    report["cost"] = {
        "seconds_per_round": fed["seconds_per_round"],
        "bytes_up_per_member_per_round": fed["bytes_up_per_member_per_round"],
        "federated_wall_seconds": fed_wall,
        "total_seconds": time.perf_counter() - t0,
    }
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
    config.update(
        {
            "contract_fingerprint": contract.fingerprint(),
            "run_id": run_id,
            "n_features": parts[0].n_features,
            "holdout_fraction": HOLDOUT_FRACTION,
        }
    )
    report["config"] = config
    progress("writing report")
    return write_report(report, cfg.out, y_holdout=baselines.global_holdout(parts)[1])
