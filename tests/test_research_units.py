"""Research harness building blocks: config validation, grid, CSV appends, statistics,
partition equivalence, top-k capture, attack metrics (no Flower run here)."""

import io
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from simulations.experiments.ablation import capture
from simulations.experiments.attack import bootstrap_auc, tpr_at_fpr
from simulations.experiments.grid import load_config, parse_config, sweep_cells
from simulations.experiments.progress import CellProgress
from simulations.experiments.results import append_row, bind_out, mean_ci, read_rows
from simulations.experiments.simrun import SimRunConfig, build_partitions, load_rows, partition_rows
from simulations.experiments.sweep import summarise

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "simulations" / "configs"


def test_every_shipped_config_parses_and_resolves_its_data() -> None:
    # Execute
    configs = {p.name: load_config(p) for p in sorted(CONFIGS.glob("*.toml"))}
    # Assert: quick and full configs of all four experiments
    for kind in ("sweep", "attack", "ablation", "cost"):
        assert f"quick-{kind}.toml" in configs
        assert f"full-{kind}.toml" in configs
    for cfg in configs.values():
        if cfg.data.source == "csv":
            assert cfg.data.path is not None and cfg.data.path.is_file()


def test_full_sweep_grid_has_the_issue_axes() -> None:
    cfg = load_config(CONFIGS / "full-sweep.toml")
    assert math.inf in cfg.grid.epsilon and 1.0 in cfg.grid.epsilon
    assert {"iid", "dirichlet:0.1", "dirichlet:0.5", "dirichlet:1"} <= set(cfg.grid.partition)
    assert any(p.startswith("column:") for p in cfg.grid.partition)
    assert set(cfg.grid.encryption) == {"paillier", "none"}
    assert len(cfg.seeds) >= 3


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"grid": {"epsilon": [-1]}}, "[grid] epsilon"),
        ({"grid": {"members": [1]}}, "[grid] members must be in [2, 1024]"),
        ({"grid": {"partition": ["dirichlet:x"]}}, "dirichlet alpha must be a number"),
        ({"grid": {"model": ["tree"]}}, "model must be logistic, mlp or mlp:H"),
        ({"grid": {"encryption": ["rot13"]}}, "[grid] encryption values"),
        ({"federation": {"key_bits": 1024}}, "[federation] key_bits must be >= 2048"),
        ({"federation": {"roundz": 3}}, "[federation] unknown keys ['roundz']"),
        ({"experiment": {"seeds": [1, 1]}}, "[experiment] seeds must be distinct"),
        ({"data": {"source": "csv"}}, "[data] source = 'csv' needs path"),
        ({"ray": {"cpus_per_member": 0}}, "[ray] cpus_per_member must be > 0"),
    ],
)
def test_bad_config_names_table_key_and_rule(doc: dict, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_config(doc)
    assert message in str(err.value)


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\nepsilon = 1")
    with pytest.raises(ValueError, match=r"bad\.toml: not valid TOML"):
        load_config(bad)


def test_grid_is_the_full_product_with_stable_ids() -> None:
    # Prepare
    cfg = parse_config(
        {
            "experiment": {"seeds": [1, 2, 3]},
            "grid": {"epsilon": [1, "inf"], "members": [3, 5], "encryption": ["paillier", "none"]},
        }
    )
    # Execute
    cells = sweep_cells(cfg)
    # Assert
    assert len(cells) == 2 * 2 * 2 * 3
    assert len({c.label() for c in cells}) == len(cells)
    assert cells[0].label() == "eps=1 members=3 iid logistic paillier seed=1"
    assert sum(not c.private for c in cells) == 12
    assert (
        cfg.fingerprint()
        == parse_config(
            {
                "experiment": {"seeds": [1, 2, 3]},
                "grid": {
                    "epsilon": [1, "inf"],
                    "members": [3, 5],
                    "encryption": ["paillier", "none"],
                },
            }
        ).fingerprint()
    )
    # which cells run (seeds, grid values) is not part of it: a folder can be extended ...
    assert cfg.fingerprint() == parse_config({"grid": {"epsilon": [2]}}).fingerprint()
    assert cfg.fingerprint() == parse_config({"experiment": {"seeds": [9]}}).fingerprint()
    # ... but how a cell runs is
    assert cfg.fingerprint() != parse_config({"federation": {"rounds": 7}}).fingerprint()
    assert cfg.fingerprint() != parse_config({"data": {"companies": 999}}).fingerprint()
    attack = {"attack": {"epsilon": [1], "shadow_models": 4}}
    more_eps = {"attack": {"epsilon": [1, 3], "shadow_models": 4}}
    fewer_shadows = {"attack": {"epsilon": [1], "shadow_models": 2}}
    assert parse_config(attack).fingerprint() == parse_config(more_eps).fingerprint()
    assert parse_config(attack).fingerprint() != parse_config(fewer_shadows).fingerprint()


def test_ray_resources_local_or_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    local = parse_config({"ray": {"num_cpus": 2, "cpus_per_member": 0.5}}).ray
    cluster = parse_config({"ray": {"address": "auto"}}).ray
    assert local.init_args(8) == {"num_cpus": 2, "include_dashboard": False}
    assert parse_config({}).ray.init_args(8) == {"num_cpus": 8, "include_dashboard": False}
    assert cluster.init_args(8) == {"address": "auto", "include_dashboard": False}
    # the same file joins a cluster when RAY_ADDRESS is set
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert local.init_args(8) == {"address": "10.0.0.1:6379", "include_dashboard": False}


def test_append_row_keeps_a_complete_csv_and_refuses_a_foreign_header(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "results.csv"
    # Execute
    append_row(path, {"a": 1, "b": math.inf}, ["a", "b"])
    append_row(path, {"a": 2, "b": 0.5}, ["a", "b"])
    # Assert
    assert read_rows(path) == [{"a": "1", "b": "inf"}, {"a": "2", "b": "0.5"}]
    assert not [p for p in tmp_path.iterdir() if p.name != "results.csv"]  # no temp left over
    with pytest.raises(ValueError, match="header differs"):
        append_row(path, {"x": 1}, ["x"])
    with pytest.raises(ValueError, match=r"lacks columns \['b'\]"):
        append_row(path, {"a": 1}, ["a", "b"])


def test_out_folder_is_bound_to_its_config(tmp_path: Path) -> None:
    a = parse_config({"grid": {"epsilon": [1]}})
    extended = parse_config({"grid": {"epsilon": [1, 2]}, "experiment": {"seeds": [1, 2]}})
    b = parse_config({"grid": {"epsilon": [1]}, "federation": {"learning_rate": 0.5}})
    bind_out(a, tmp_path, "sweep")
    bind_out(a, tmp_path, "sweep")  # same config: fine (resume)
    bind_out(extended, tmp_path, "sweep")  # more cells of the same settings: fine (extend)
    with pytest.raises(ValueError, match="holds results of another experiment"):
        bind_out(b, tmp_path, "sweep")
    with pytest.raises(ValueError, match="holds results of another experiment"):
        bind_out(a, tmp_path, "attack")


def test_mean_ci_by_hand() -> None:
    m, lo, hi = mean_ci([1.0, 2.0, 3.0])  # sd 1, t(0.975, 2) = 4.303
    assert m == 2.0
    assert hi - m == pytest.approx(4.302653 / math.sqrt(3), rel=1e-5)
    assert m - lo == pytest.approx(hi - m)
    assert math.isnan(mean_ci([0.5])[1])
    assert mean_ci([math.inf, math.inf])[0] == math.inf


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30))
def test_mean_ci_contains_the_mean(values: list[float]) -> None:
    m, lo, hi = mean_ci(values)
    assert lo <= m + 1e-9 and m - 1e-9 <= hi


def test_partition_rows_match_build_partitions(tmp_path: Path) -> None:
    # Prepare: the same rows and spec through both functions
    cfg = SimRunConfig(
        out=tmp_path, data=ROOT / "data" / "lending_club.csv", label="Class", positive="bad",
        members=4, partition="dirichlet:0.5", seed=3, encryption="none", insecure_plaintext=True,
    )  # fmt: skip
    df, contract = load_rows(cfg)
    # Execute
    ours, train_rows, hold_rows = partition_rows(cfg, df, contract)
    theirs = build_partitions(cfg, df, contract)
    # Assert
    assert [p.member_id for p in ours] == [p.member_id for p in theirs]
    for a, b, tr, ho in zip(ours, theirs, train_rows, hold_rows, strict=True):
        np.testing.assert_array_equal(a.x_train, b.x_train)
        np.testing.assert_array_equal(a.y_holdout, b.y_holdout)
        assert len(tr) == len(a.y_train) and len(ho) == len(a.y_holdout)
    assert len(np.concatenate(train_rows + hold_rows)) == len(df)


def test_capture_by_hand() -> None:
    pd_ = np.array([0.9, 0.8, 0.7, 0.1, 0.05, 0.3, 0.2, 0.6, 0.4, 0.5])
    y = np.array([1, 0, 0, 0, 1, 0, 0, 1, 0, 0])
    assert capture(pd_, y, 10) == pytest.approx(1 / 3)  # top 1 of 10: the 0.9
    assert capture(pd_, y, 50) == pytest.approx(2 / 3)  # 0.9 and 0.6 among the top 5
    assert capture(pd_, y, 100) == 1.0
    assert math.isnan(capture(pd_, np.zeros(10, dtype=int), 10))


def test_attack_metrics_by_hand() -> None:
    labels = np.array([1, 1, 1, 0, 0, 0])
    perfect = np.array([3.0, 2.0, 1.0, -1.0, -2.0, -3.0])
    assert tpr_at_fpr(labels, perfect) == 1.0
    auc, lo, hi = bootstrap_auc(labels, perfect, 50, seed=0)
    assert auc == 1.0 and lo == 1.0 and hi == 1.0
    reversed_ = -perfect
    assert tpr_at_fpr(labels, reversed_) == 0.0
    assert bootstrap_auc(labels, reversed_, 50, seed=0)[0] == 0.0


def test_progress_names_the_running_cell_with_eta(tmp_path: Path) -> None:
    # Prepare: a terminal-like console writing into a buffer
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=160)
    # Execute
    with CellProgress(30, 5, console=console) as bar:
        bar.skip(3)
        bar.start("eps=1 members=5 iid logistic paillier seed=2", tmp_path / "none.sqlite")
        bar.done()
    # Assert
    text = buf.getvalue()
    assert "eps=1 members=5 iid logistic paillier seed=2" in text
    assert "4/30" in text and "ETA" in text


def test_docstring_examples() -> None:
    import doctest

    from simulations.experiments import ablation, cost, grid, results

    for module in (ablation, cost, grid, results):
        outcome = doctest.testmod(module)
        assert outcome.attempted > 0 and outcome.failed == 0, module.__name__


def test_sweep_gap_is_paired_by_seed() -> None:
    # Prepare: two seeds; no-DP 0.80/0.70, eps 1 0.75/0.69 -> per-seed gaps 0.05 and 0.01
    def row(eps: str, seed: int, auc: float) -> dict[str, str]:
        return {
            "epsilon": eps, "members": "3", "partition": "iid", "model": "logistic",
            "encryption": "paillier-packed", "seed": str(seed), "auc": str(auc), "ks": "0.3",
            "epsilon_spent": eps, "centralised_auc": "0.8", "local_only_auc": "0.7",
        }  # fmt: skip

    rows = [row("inf", 1, 0.80), row("inf", 2, 0.70), row("1.0", 1, 0.75), row("1.0", 2, 0.69)]
    # Execute
    cells = {c["epsilon"]: c for c in summarise(rows)}
    # Assert: mean gap 0.03; paired interval 0.03 +- t(0.975, 1) * sd(0.04) / sqrt(2)
    eps1 = cells[1.0]
    assert eps1["gap_to_non_private"] == pytest.approx(0.03)
    assert eps1["gap_paired_mean"] == pytest.approx(0.03) and eps1["gap_paired_n"] == 2
    half = 12.7062047 * math.sqrt(0.02**2 * 2) / math.sqrt(2)
    assert eps1["gap_paired_ci95"] == pytest.approx([0.03 - half, 0.03 + half], rel=1e-5)
    assert cells[math.inf]["gap_paired_mean"] == 0.0
