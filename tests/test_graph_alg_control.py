"""Control, ultimate controllers, control cycles and the beneficial-owner fallback."""

from __future__ import annotations

import networkx as nx
import pytest

from graph_risk.algorithms import controller_table, ultimate_controllers
from graph_risk.build import frames_from_records


def test_exactly_half_does_not_control_and_both_halves_are_beneficial_owners() -> None:
    frames = frames_from_records(
        shareholdings=[("P", "person", "X", 0.5), ("Q", "person", "X", 0.5)]
    )

    result = ultimate_controllers(frames, "X")

    assert result.controller is None
    assert result.integrated_share == 0.0
    assert [(o.holder, o.integrated_share) for o in result.beneficial_owners] == [
        ("P", 0.5),
        ("Q", 0.5),
    ]
    assert result.beneficial_owners[0].paths == [[("P", "X", 0.5)]]


def test_just_over_half_controls() -> None:
    frames = frames_from_records(
        shareholdings=[("P", "person", "X", 0.5001), ("Q", "person", "X", 0.4999)]
    )

    result = ultimate_controllers(frames, "X")

    assert (result.controller, result.controller_type) == ("P", "person")
    assert result.integrated_share == pytest.approx(0.5001)
    assert result.beneficial_owners == []


def test_control_chain_reaches_the_top_person_with_its_path() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("P", "person", "A", 0.6),
            ("A", "company", "B", 0.7),
            ("Q", "person", "B", 0.3),
        ]
    )

    result = ultimate_controllers(frames, "B")

    assert result.controller == "P"
    assert result.integrated_share == pytest.approx(0.42)
    assert result.paths == [[("P", "A", 0.6), ("A", "B", 0.7)]]


def test_holder_controls_together_with_the_companies_it_controls() -> None:
    # P holds 30% of X directly and controls A, which holds 25%: 55% > 50%.
    frames = frames_from_records(
        shareholdings=[
            ("P", "person", "A", 0.6),
            ("P", "person", "X", 0.3),
            ("A", "company", "X", 0.25),
            ("Q", "person", "X", 0.45),
        ]
    )

    result = ultimate_controllers(frames, "X")

    assert result.controller == "P"
    assert result.integrated_share == pytest.approx(0.3 + 0.6 * 0.25)
    assert result.paths == [[("P", "X", 0.3)], [("P", "A", 0.6), ("A", "X", 0.25)]]


def test_minority_stakes_of_different_owners_do_not_add_up() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("P", "person", "A", 0.6),
            ("Q", "person", "B", 0.6),
            ("A", "company", "X", 0.3),
            ("B", "company", "X", 0.3),
        ]
    )

    result = ultimate_controllers(frames, "X")

    assert result.controller is None
    assert [o.holder for o in result.beneficial_owners] == ["A", "B"]


def test_beneficial_owner_threshold_is_inclusive_and_configurable() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("P1", "person", "X", 0.3),
            ("P2", "person", "X", 0.25),
            ("P3", "person", "X", 0.2),
            ("P4", "person", "X", 0.25),
        ]
    )

    default = ultimate_controllers(frames, "X")
    wide = ultimate_controllers(frames, "X", ubo_threshold=0.2)

    assert [o.holder for o in default.beneficial_owners] == ["P1", "P2", "P4"]
    assert [o.holder for o in wide.beneficial_owners] == ["P1", "P2", "P4", "P3"]


def test_cross_holding_inside_a_controlled_group() -> None:
    # P controls A (60%); A holds 60% of B and B 20% of A.
    frames = frames_from_records(
        shareholdings=[
            ("P", "person", "A", 0.6),
            ("A", "company", "B", 0.6),
            ("B", "company", "A", 0.2),
        ]
    )
    loop = 1 / (1 - 0.6 * 0.2)

    result = ultimate_controllers(frames, "B")
    table = controller_table(frames).set_index("company_id")

    assert result.controller == "P"
    assert result.integrated_share == pytest.approx(0.6 * 0.6 * loop)
    assert table.loc["A", "controller_id"] == "P"
    assert table.loc["A", "integrated_share"] == pytest.approx(0.6 * loop)
    assert table.loc["B", "integrated_share"] == pytest.approx(0.36 * loop)


def test_mutual_control_cycle_has_no_single_controller() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("A", "company", "B", 0.6),
            ("B", "company", "A", 0.6),
            ("B", "company", "C", 0.7),
            ("P", "person", "A", 0.2),
        ]
    )

    result = ultimate_controllers(frames, "C")
    table = controller_table(frames).set_index("company_id")

    assert result.controller is None
    assert result.control_cycle == ("A", "B")
    assert result.paths[0] == [("B", "C", 0.7)]
    assert list(table["control_cycle"]) == ["A;B", "A;B", "A;B"]
    assert list(table["integrated_share"]) == [0.0, 0.0, 0.0]


def test_outside_controller_of_a_cycle_controls_all_of_it() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("A", "company", "B", 0.6),
            ("B", "company", "A", 0.3),
            ("P", "person", "A", 0.6),
        ]
    )

    table = controller_table(frames).set_index("company_id")

    assert table.loc["A", "controller_id"] == "P"
    assert table.loc["B", "controller_id"] == "P"
    assert table.loc["B", "control_cycle"] == ""


def test_uncontrolled_parent_company_is_the_top_controller() -> None:
    frames = frames_from_records(
        shareholdings=[
            ("H", "company", "S", 0.8),
            ("P", "person", "H", 0.2),
            ("Q", "person", "H", 0.2),
        ]
    )

    result = ultimate_controllers(frames, "S")

    assert (result.controller, result.controller_type) == ("H", "company")
    assert result.integrated_share == pytest.approx(0.8)


def test_lower_threshold_breaks_ties_by_smallest_id() -> None:
    frames = frames_from_records(
        shareholdings=[("Q", "person", "X", 0.4), ("P", "person", "X", 0.4)]
    )

    assert ultimate_controllers(frames, "X", threshold=0.3).controller == "P"
    assert ultimate_controllers(frames, "X").controller is None


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, float("nan")])
def test_threshold_must_lie_in_zero_one(bad: float) -> None:
    frames = frames_from_records(shareholdings=[("P", "person", "X", 1.0)])

    with pytest.raises(ValueError, match=r"control threshold must be in \(0, 1\]"):
        ultimate_controllers(frames, "X", threshold=bad)
    with pytest.raises(ValueError, match=r"UBO threshold must be in \(0, 1\]"):
        ultimate_controllers(frames, "X", ubo_threshold=bad)


def test_unknown_company_is_a_clear_error() -> None:
    frames = frames_from_records(shareholdings=[("P", "person", "X", 1.0)])

    with pytest.raises(ValueError, match="unknown company 'Y'"):
        ultimate_controllers(frames, "Y")


def test_networkx_source_uses_holder_type_attribute() -> None:
    graph = nx.DiGraph()
    graph.add_node("P", holder_type="person")
    graph.add_node("H", holder_type="company")
    graph.add_edge("P", "H", share=0.9)
    graph.add_edge("H", "S", share=0.7)

    result = ultimate_controllers(graph, "S")

    assert (result.controller, result.controller_type) == ("P", "person")
    assert result.integrated_share == pytest.approx(0.63)
