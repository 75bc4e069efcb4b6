"""Related-party groups: shared controller, shared identifiers, common-identifier cap."""

from __future__ import annotations

import pytest

from graph_risk.algorithms import related_parties, related_party_groups
from graph_risk.build import frames_from_records

HOLDINGS = [
    ("P", "person", "A", 0.6),
    ("P", "person", "B", 0.7),
    ("Q", "person", "C", 0.9),
    ("R", "person", "D", 0.9),
]


def companies(address: dict[str, str]) -> list[dict[str, object]]:
    return [{"company_id": c, "address": address.get(c)} for c in "ABCD"]


def test_shared_controller_and_shared_address_chain_into_one_group() -> None:
    frames = frames_from_records(
        companies=companies({"B": "1 Main St", "C": "  1  MAIN st "}), shareholdings=HOLDINGS
    )

    result = related_parties(frames, "A")

    assert result.members == ("B", "C")
    assert result.links == [
        ("A", "controller", "P"),
        ("B", "controller", "P"),
        ("B", "address", "1 Main St"),
        ("C", "address", "1 Main St"),
    ]
    assert related_party_groups(frames) == [("A", "B", "C")]


def test_identifier_shared_by_too_many_companies_is_ignored() -> None:
    frames = frames_from_records(
        companies=companies({"B": "Agent Rd", "C": "Agent Rd", "D": "Agent Rd"}),
        shareholdings=HOLDINGS,
    )

    assert related_party_groups(frames, max_shared=2) == [("A", "B")]
    assert related_party_groups(frames, max_shared=3) == [("A", "B", "C", "D")]


def test_links_can_be_restricted_to_the_controller() -> None:
    frames = frames_from_records(companies=companies({"C": "X", "D": "X"}), shareholdings=HOLDINGS)

    assert related_party_groups(frames, by=("controller",)) == [("A", "B")]
    assert related_party_groups(frames, by=("address",)) == [("C", "D")]


def test_parent_company_and_its_subsidiary_are_related() -> None:
    frames = frames_from_records(
        shareholdings=[("H", "company", "S", 0.8), ("X", "person", "H", 0.3)]
    )

    result = related_parties(frames, "S")

    assert result.members == ("H",)
    assert ("S", "controller", "H") in result.links


def test_company_without_links_has_no_related_parties() -> None:
    frames = frames_from_records(companies=companies({}), shareholdings=HOLDINGS)

    assert related_parties(frames, "D").members == ()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": ("email",)}, "related-party links must be among"),
        ({"max_shared": 1}, "max_shared must be an integer >= 2"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, object], message: str) -> None:
    frames = frames_from_records(shareholdings=HOLDINGS)

    with pytest.raises(ValueError, match=message):
        related_parties(frames, "A", **kwargs)  # type: ignore[arg-type]
