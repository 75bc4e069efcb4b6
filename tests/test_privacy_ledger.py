"""Persistent privacy budget ledger (privacy.ledger) and `fedcredit node budget`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from privacy.accountant import Mechanism, compute_epsilon
from privacy.cli import ledger_app
from privacy.dp import DPSettings, histogram_mechanism
from privacy.errors import BudgetExhausted
from privacy.ledger import Budget, BudgetLedger, dataset_fingerprint

DS = "sha256:" + "ab" * 32
ROUND = Mechanism(noise_multiplier=1.1, sample_rate=0.02, steps=50)


def ledger(tmp_path: Path, epsilon: float = 3.0) -> BudgetLedger:
    led = BudgetLedger(tmp_path / "member" / "ledger.sqlite")
    led.set_budget(DS, Budget(epsilon, 1e-5))
    return led


def test_charges_compose_across_rounds_and_runs(tmp_path: Path) -> None:
    # Prepare
    led = ledger(tmp_path)
    # Execute: two rounds of run A, one round of run B on the same dataset
    c1 = led.charge(DS, ROUND, run_id="A", round=1)
    c2 = led.charge(DS, ROUND, run_id="A", round=2)
    c3 = led.charge(DS, ROUND, run_id="B", round=1)
    # Assert: epsilon after each charge is the composition of all charges so far
    for k, c in enumerate([c1, c2, c3], start=1):
        assert c.epsilon_after == pytest.approx(compute_epsilon([ROUND] * k, 1e-5))
    assert c1.epsilon_after < c2.epsilon_after < c3.epsilon_after
    assert led.spent(DS) == pytest.approx(c3.epsilon_after)
    assert led.remaining(DS) == pytest.approx(3.0 - c3.epsilon_after)
    assert [(c.run_id, c.round, c.steps) for c in led.history(DS)] == [
        ("A", 1, 50),
        ("A", 2, 50),
        ("B", 1, 50),
    ]
    assert stat.S_IMODE((tmp_path / "member" / "ledger.sqlite").stat().st_mode) == 0o600


def test_refusal_names_dataset_spent_and_budget_and_writes_nothing(tmp_path: Path) -> None:
    # Prepare: a budget that fits exactly two rounds
    two = compute_epsilon([ROUND, ROUND], 1e-5)
    led = ledger(tmp_path, epsilon=two * 1.0001)
    led.charge(DS, ROUND, run_id="A", round=1)
    assert not led.would_exceed(DS, ROUND)
    led.charge(DS, ROUND, run_id="A", round=2)
    # Execute / Assert
    assert led.would_exceed(DS, ROUND)
    with pytest.raises(BudgetExhausted) as err:
        led.charge(DS, ROUND, run_id="A", round=3)
    msg = str(err.value)
    assert DS in msg and f"{two:.4f}" in msg and f"{two * 1.0001:.4f}" in msg
    assert err.value.spent == pytest.approx(two)
    assert len(led.history(DS)) == 2


def test_would_exceed_accepts_an_explicit_budget(tmp_path: Path) -> None:
    led = ledger(tmp_path, epsilon=100.0)
    assert led.would_exceed(DS, ROUND, Budget(0.01, 1e-5))
    assert not led.would_exceed(DS, ROUND)


def test_histogram_charges_count_against_the_same_budget(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.charge(DS, ROUND, run_id="A", round=1)
    before = led.spent(DS)
    led.charge(DS, histogram_mechanism(30.0), run_id="A", round=1)
    assert led.spent(DS) > before
    assert [c.kind for c in led.history(DS)] == ["dp-sgd", "histogram"]


def test_charges_need_a_budget_and_valid_ids(tmp_path: Path) -> None:
    led = BudgetLedger(tmp_path / "l.sqlite")
    with pytest.raises(KeyError, match="no privacy budget set"):
        led.charge(DS, ROUND, run_id="A", round=1)
    led.set_budget(DS, Budget(1.0, 1e-5))
    with pytest.raises(ValueError, match="run_id"):
        led.charge(DS, ROUND, run_id="", round=1)
    with pytest.raises(ValueError, match="round"):
        led.charge(DS, ROUND, run_id="A", round=-1)
    with pytest.raises(ValueError, match="budget epsilon"):
        Budget(0.0, 1e-5)


def test_charge_in_one_process_is_seen_by_the_next(tmp_path: Path) -> None:
    # Prepare
    path = tmp_path / "ledger.sqlite"
    write = textwrap.dedent(f"""
        import os
        from privacy.accountant import Mechanism
        from privacy.ledger import Budget, BudgetLedger
        led = BudgetLedger({str(path)!r})
        led.set_budget({DS!r}, Budget(5.0, 1e-5))
        led.charge({DS!r}, Mechanism(1.1, 0.02, 50), run_id="A", round=1)
        os._exit(0)  # crash right after the charge, before any 'send'
    """)
    read = textwrap.dedent(f"""
        from privacy.ledger import BudgetLedger
        led = BudgetLedger({str(path)!r}, create=False)
        print(len(led.history({DS!r})), led.spent({DS!r}))
    """)
    # Execute
    subprocess.run([sys.executable, "-c", write], check=True)
    out = subprocess.run([sys.executable, "-c", read], check=True, capture_output=True, text=True)
    # Assert
    count, spent = out.stdout.split()
    assert int(count) == 1
    assert float(spent) == pytest.approx(compute_epsilon([ROUND], 1e-5))


def test_state_dict_round_trip_and_refusal_to_load_over_charges(tmp_path: Path) -> None:
    led = ledger(tmp_path)
    led.charge(DS, ROUND, run_id="A", round=1)
    state = json.loads(json.dumps(led.state_dict()))
    fresh = BudgetLedger(tmp_path / "restored.sqlite")
    fresh.load_state_dict(state)
    assert fresh.history(DS) == led.history(DS)
    assert fresh.spent(DS) == led.spent(DS)
    with pytest.raises(ValueError, match="under-count"):
        fresh.load_state_dict(state)


def test_accountant_is_fixed_when_the_ledger_is_created(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    BudgetLedger(path, accountant="rdp")
    with pytest.raises(ValueError, match="uses accountant 'rdp'"):
        BudgetLedger(path, accountant="prv")
    with pytest.raises(ValueError, match="accountant must be one of"):
        BudgetLedger(tmp_path / "other.sqlite", accountant="moments")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        BudgetLedger(tmp_path / "missing.sqlite", create=False)


def test_dataset_fingerprint_depends_on_content_not_name(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    a.write_text("x,y\n1,2\n")
    b.write_text("x,y\n1,2\n")
    c.write_text("x,y\n1,3\n")
    assert dataset_fingerprint(a) == dataset_fingerprint(b) != dataset_fingerprint(c)
    assert dataset_fingerprint(a).startswith("sha256:")


def test_cli_budget_shows_spent_and_remaining(tmp_path: Path) -> None:
    # Prepare: mount the command the way the lead's `fedcredit node` group does
    node = typer.Typer()
    node.registered_commands.extend(ledger_app.registered_commands)
    root = typer.Typer()
    root.add_typer(node, name="node")
    led = ledger(tmp_path)
    led.charge(DS, ROUND, run_id="A", round=1)
    path = str(led.path)
    # Execute
    as_json = CliRunner().invoke(root, ["node", "budget", "--ledger", path, "--json"])
    table = CliRunner().invoke(root, ["node", "budget", "--ledger", path])
    missing = CliRunner().invoke(root, ["node", "budget", "--ledger", str(tmp_path / "no.db")])
    # Assert
    assert as_json.exit_code == 0, as_json.output
    (row,) = json.loads(as_json.output)
    assert row["dataset"] == DS and row["charges"] == 1
    assert row["spent"] == pytest.approx(led.spent(DS))
    assert row["remaining"] == pytest.approx(3.0 - led.spent(DS))
    assert table.exit_code == 0 and f"{led.spent(DS):.4f}" in table.output
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert not os.path.exists(tmp_path / "no.db")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database, just text " * 100)
    broken = CliRunner().invoke(root, ["node", "budget", "--ledger", str(junk)])
    assert broken.exit_code == 1 and "not a database" in broken.output
    assert "Traceback" not in broken.output


def test_concurrent_processes_cannot_overspend_together(tmp_path: Path) -> None:
    # Prepare: a budget that fits exactly five rounds; two processes try four each
    five = compute_epsilon([ROUND] * 5, 1e-5)
    led = ledger(tmp_path, epsilon=five * 1.0001)
    script = textwrap.dedent(f"""
        from privacy.accountant import Mechanism
        from privacy.errors import BudgetExhausted
        from privacy.ledger import BudgetLedger
        led = BudgetLedger({str(led.path)!r})
        ok = 0
        for r in range(4):
            try:
                led.charge({DS!r}, Mechanism(1.1, 0.02, 50), run_id="P", round=r)
                ok += 1
            except BudgetExhausted:
                pass
        print(ok)
    """)
    # Execute
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    granted = sum(int(p.communicate()[0]) for p in procs)
    # Assert
    assert granted == 5
    assert len(led.history(DS)) == 5 and led.spent(DS) <= five * 1.0001


def test_settings_from_a_target_fill_the_budget_exactly_without_tripping_it(
    tmp_path: Path,
) -> None:
    # Prepare: settings solved for epsilon 2 over 5 rounds, the same budget in the ledger
    s = DPSettings.from_target(
        epsilon=2.0, delta=1e-5, rounds=5, steps_per_round=40, sample_rate=0.02, clip_norm=1.0
    )
    led = ledger(tmp_path, epsilon=2.0)
    # Execute: the five planned rounds go through, a sixth does not
    for r in range(5):
        led.charge(DS, s.round_mechanism(), run_id="A", round=r)
    # Assert
    assert 1.98 <= led.spent(DS) <= 2.0
    with pytest.raises(BudgetExhausted):
        led.charge(DS, s.round_mechanism(), run_id="A", round=5)
