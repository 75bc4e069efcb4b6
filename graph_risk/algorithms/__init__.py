"""Relationship-graph algorithms: pure functions over :class:`GraphFrames` or graphs."""

from graph_risk.algorithms.circles import (
    Circle,
    circle_stats,
    circles_through,
    find_circles,
    guarantee_groups,
)
from graph_risk.algorithms.contagion import WhatIf, contagion, debtrank, what_if_default
from graph_risk.algorithms.control import (
    BeneficialOwner,
    ControllerResult,
    control_state,
    controller_table,
    ultimate_controllers,
)
from graph_risk.algorithms.exposure import Exposure, chain_exposure, chain_exposure_table
from graph_risk.algorithms.neighbourhood import Neighbourhood, default_neighbourhood
from graph_risk.algorithms.ownership import (
    OwnerShare,
    WhollyHeldCycleError,
    integrated_ownership,
)
from graph_risk.algorithms.related import (
    RelatedParties,
    related_parties,
    related_party_groups,
)

__all__ = [
    "BeneficialOwner",
    "Circle",
    "ControllerResult",
    "Exposure",
    "Neighbourhood",
    "OwnerShare",
    "RelatedParties",
    "WhatIf",
    "WhollyHeldCycleError",
    "chain_exposure",
    "chain_exposure_table",
    "circle_stats",
    "circles_through",
    "contagion",
    "control_state",
    "controller_table",
    "debtrank",
    "default_neighbourhood",
    "find_circles",
    "guarantee_groups",
    "integrated_ownership",
    "related_parties",
    "related_party_groups",
    "ultimate_controllers",
    "what_if_default",
]
