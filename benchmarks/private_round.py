"""Cost of privacy per federated round: DP-SGD + packed Paillier vs plaintext, same round.

Side by side in one run, on a synthetic consortium (default 20k companies, 10 members):

in process, members one after another, one thread each (as in a ClientApp): per round the
time to decrypt the incoming aggregate, train (DP-SGD vs plain SGD), encrypt the update and
the evaluation histograms, the coordinator's aggregation, and the key holder's decryption of
the round's results (once per round). ``overhead_seconds`` = (private round - plaintext
round) per member (members run in parallel on their own machines in a deployment); the JSON
also gives the overhead of all members one after another and spread over this machine's two
cores. Flower's engine adds the same messaging cost to both modes (see ``report.json``
``cost``).

Usage: ``python benchmarks/private_round.py [--quick] [--out PATH]``
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from support.machine import describe_machine

from participant_node.codecs import member_codecs
from participant_node.config import MemberConfig
from participant_node.metrics import pack_histograms, score_histograms
from participant_node.model import build_from_spec, get_flat, predict_proba, set_flat, train_local
from participant_node.model.dp_train import train_local_dp
from participant_node.private_round import dp_settings
from privacy.keys import generate_keypair, save_private_key, save_public_key
from privacy.layouts import fedavg_weight
from simulations.consortium import ConsortiumConfig, generate_consortium, write_consortium
from simulations.experiments.simrun import SimRunConfig, build_partitions, load_rows


def machine() -> dict[str, Any]:
    """This machine, for the results file."""
    return describe_machine("torch", "opacus", "phe", "gmpy2")


def _timed(fn: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def one_round(parts: list[Any], run_cfg: dict[str, Any], key: Path | None) -> dict[str, float]:
    """Time one round (train + evaluate) for every member; return summed seconds per phase."""
    cfg = MemberConfig.from_run_config(run_cfg)
    codecs = member_codecs(cfg.privacy, key)
    spec = cfg.model_spec(parts[0].n_features)
    t: dict[str, float] = dict.fromkeys(
        ("decrypt_in", "train", "encrypt", "aggregate", "decrypt_out"), 0.0
    )
    payloads, hist_payloads = [], []
    start = build_from_spec(spec, seed=1)
    global_payload = codecs.update.encode(get_flat(start), weight=1)
    for p in parts:
        model = build_from_spec(spec, seed=1)
        decoded, s = _timed(lambda: codecs.update.decode(global_payload))
        t["decrypt_in"] += s
        set_flat(model, decoded.mean())
        if cfg.privacy.dp:
            dp = dp_settings(cfg, len(p.y_train))
            _, s = _timed(
                lambda m=model, p=p, dp=dp: train_local_dp(
                    m,
                    p.x_train,
                    p.y_train,
                    cfg.train,
                    dp,
                    grad_sample_mode=cfg.privacy.grad_sample_mode,
                )
            )
        else:
            _, s = _timed(
                lambda m=model, p=p: train_local(m, p.x_train, p.y_train, cfg.train, seed=0)
            )
        t["train"] += s
        w = fedavg_weight(rows=len(p.y_train), weight_unit=100, max_weight=255)
        payload, s1 = _timed(lambda m=model, w=w: codecs.update.encode(get_flat(m), weight=w))
        pos, neg = score_histograms(predict_proba(model, p.x_holdout), p.y_holdout, cfg.hist_bins)
        hist, s2 = _timed(
            lambda pos=pos, neg=neg: codecs.histogram.encode(pack_histograms(pos, neg), weight=1)
        )
        t["encrypt"] += s1 + s2
        payloads.append(payload)
        hist_payloads.append(hist)
    (agg, hagg), s = _timed(
        lambda: (codecs.update.aggregate(payloads), codecs.histogram.aggregate(hist_payloads))
    )
    t["aggregate"] = s
    _, s = _timed(lambda: (codecs.update.decode(agg), codecs.histogram.decode(hagg)))
    # members decrypt the model aggregate at the start of the next round (decrypt_in); the
    # evaluation aggregate is decrypted once per round by the key holder that reports metrics
    t["decrypt_out"] = s
    t["total"] = sum(v for k, v in t.items())
    t["bytes_up_per_member"] = float(sum(p.nbytes() for p in payloads + hist_payloads) / len(parts))
    return t


def run(companies: int, members: int, rounds: int, key_bits: int) -> dict[str, Any]:
    """Build the consortium, time one round private and plaintext; return the results."""
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_consortium(
            generate_consortium(ConsortiumConfig(n_companies=companies, n_members=members, seed=7)),
            d / "c",
        )
        cfg = SimRunConfig(
            out=d / "out",
            label="default_6m",
            positive="1",
            consortium=d / "c",
            partition="member",
            rounds=rounds,
            batch_size=256,
            learning_rate=0.1,
            encryption="none",
            insecure_plaintext=True,
        )
        (d / "out").mkdir()
        df, contract = load_rows(cfg)
        parts = build_partitions(cfg, df, contract)
        pub, priv = generate_keypair(key_bits)
        save_public_key(d / "pub.json", pub)
        save_private_key(d / "priv.json", priv)
        common = {
            "num-server-rounds": rounds,
            "batch-size": 256,
            "learning-rate": 0.1,
            "hist-bins": 1024,
            "model": "logistic",
        }
        plain_cfg = {**common, "dp": False, "encryption": "none", "insecure-plaintext": True}
        private_cfg = {
            **common,
            "dp": True,
            "encryption": "paillier",
            "public-key": str(d / "pub.json"),
        }
        # each mode twice, the second timed: the first pays torch's one-off start-up costs
        one_round(parts, plain_cfg, None)
        plain = one_round(parts, plain_cfg, None)
        one_round(parts[:1], private_cfg, d / "priv.json")
        private = one_round(parts, private_cfg, d / "priv.json")
    per_member = {k: (private[k] - plain[k]) / members for k in plain if k != "bytes_up_per_member"}
    return {
        "companies": companies,
        "members": members,
        "rows": int(sum(len(p.y_train) for p in parts)),
        "key_bits": key_bits,
        "plaintext_round_seconds": plain,
        "private_round_seconds": private,
        "overhead_seconds": per_member["total"],
        "overhead_seconds_breakdown_per_member": per_member,
        "overhead_seconds_all_members_sequential": private["total"] - plain["total"],
        "overhead_seconds_all_members_on_2_cores": (private["total"] - plain["total"]) / 2,
        "target_overhead_seconds": 3.0,
        "machine": machine(),
    }


def main() -> None:
    """Entry point."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "private_round.json"
    )
    args = ap.parse_args()
    res = run(2000, 3, 5, 2048) if args.quick else run(20_000, 10, 20, 3072)
    res["quick"] = args.quick
    print(f"{'phase':<14}{'plaintext s':>14}{'private s':>14}{'overhead/member':>18}")
    for k, v in res["plaintext_round_seconds"].items():
        if k == "bytes_up_per_member":
            continue
        print(
            f"{k:<14}{v:>14.3f}{res['private_round_seconds'][k]:>14.3f}"
            f"{res['overhead_seconds_breakdown_per_member'][k]:>18.3f}"
        )
    plain_b = res["plaintext_round_seconds"]["bytes_up_per_member"]
    priv_b = res["private_round_seconds"]["bytes_up_per_member"]
    print(f"bytes up per member: plaintext {plain_b:.0f}, private {priv_b:.0f}")
    print(
        f"overhead per member per round: {res['overhead_seconds']:.2f} s "
        f"(target <= {res['target_overhead_seconds']} s)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
