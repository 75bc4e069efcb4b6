"""DebtRank contagion over guarantees and the what-if default."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph_risk.algorithms import contagion, what_if_default
from graph_risk.build import GraphDataError, frames_from_records


def company(company_id: str, net: float) -> dict[str, object]:
    return {"company_id": company_id, "net_assets": net}


CHAIN = frames_from_records(
    companies=[company("D", 100), company("G1", 100), company("G2", 100)],
    guarantees=[("G1", "D", 50), ("G2", "G1", 100)],
    defaults=["D"],
)


def test_debtrank_chain_from_the_issue() -> None:
    assert contagion(CHAIN) == pytest.approx({"D": 1.0, "G1": 0.5, "G2": 0.5})


def test_non_positive_net_assets_mean_full_impact() -> None:
    frames = frames_from_records(
        companies=[company("D", 10), company("G", -5), company("Z", 0)],
        guarantees=[("G", "D", 1), ("Z", "D", 1)],
        defaults=["D"],
    )

    assert contagion(frames) == pytest.approx({"D": 1.0, "G": 1.0, "Z": 1.0})


def test_loss_is_capped_at_one() -> None:
    frames = frames_from_records(
        companies=[company("D1", 1), company("D2", 1), company("G", 100)],
        guarantees=[("G", "D1", 60), ("G", "D2", 60)],
        defaults=["D1", "D2"],
    )

    assert contagion(frames)["G"] == 1.0


def test_each_company_passes_its_loss_on_once() -> None:
    # t1: A gets 0.3 from D, B gets 1. t2: A passes 0.3 to Y, then receives 0.3 more from
    # B -- but A has already passed its loss on, so Y stays at 0.3.
    frames = frames_from_records(
        companies=[company(c, 100) for c in ("D", "A", "B", "Y")],
        guarantees=[("A", "D", 30), ("B", "D", 100), ("A", "B", 30), ("Y", "A", 100)],
        defaults=["D"],
    )

    assert contagion(frames) == pytest.approx({"D": 1.0, "A": 0.6, "B": 1.0, "Y": 0.3})


def test_explicit_defaulted_overrides_observed_defaults() -> None:
    assert contagion(CHAIN, defaulted=["G1"]) == pytest.approx({"D": 0.0, "G1": 1.0, "G2": 1.0})


def test_what_if_reports_loss_affected_and_chains() -> None:
    result = what_if_default(CHAIN, "D")

    assert result.affected == pytest.approx({"G1": 0.5, "G2": 0.5})
    assert result.system_loss == pytest.approx(100.0)
    assert result.relative_loss == pytest.approx(100.0 / 300.0)
    assert result.paths == [[("G1", "D", 50.0)], [("G2", "G1", 100.0), ("G1", "D", 50.0)]]


def test_what_if_on_top_of_observed_defaults_reports_the_extra_loss() -> None:
    # Baseline (D defaulted): G1 0.5, G2 0.5. Adding G1: G2 rises to 1 -> extra 0.5 * 100.
    result = what_if_default(CHAIN, "G1", include_observed=True)

    assert result.affected == pytest.approx({"G2": 0.5})
    assert result.system_loss == pytest.approx(50.0)


def test_guarantor_without_net_assets_is_a_clear_error() -> None:
    frames = frames_from_records(
        companies=[company("D", 1), company("G", float("nan"))],
        guarantees=[("G", "D", 1)],
        defaults=["D"],
    )

    with pytest.raises(GraphDataError, match="guarantor 'G' has no net_assets"):
        contagion(frames)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(2, 9).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0.01, 500)),
                max_size=3 * n,
            ),
            st.lists(st.floats(-50, 500), min_size=n, max_size=n),
            st.sets(st.integers(0, n - 1), max_size=n),
        )
    )
)
def test_contagion_stays_within_zero_one_and_never_reaches_unconnected(
    case: tuple[int, list[tuple[int, int, float]], list[float], set[int]],
) -> None:
    n, edges, nets, shocked = case
    names = [f"C{i}" for i in range(n)]
    frames = frames_from_records(
        companies=[company(names[i], nets[i]) for i in range(n)],
        guarantees=[(names[a], names[b], amt) for a, b, amt in edges],
        defaults=[names[i] for i in sorted(shocked)],
    )
    reaches = {names[i] for i in shocked}
    grew = True
    while grew:
        before = len(reaches)
        reaches |= {names[a] for a, b, _ in edges if names[b] in reaches and a != b}
        grew = len(reaches) > before

    scores = contagion(frames)

    values = np.array(list(scores.values()))
    assert ((values >= 0) & (values <= 1)).all()
    assert all(scores[names[i]] == 1.0 for i in shocked)
    assert all(v == 0.0 for k, v in scores.items() if k not in reaches)
