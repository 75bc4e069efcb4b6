"""Synthetic credit consortium: relationship graph, member customer tables and labels."""

from simulations.consortium.config import (
    INDUSTRIES,
    REGIONS,
    Consortium,
    ConsortiumConfig,
    ControllerGroup,
    PlantedStructures,
)
from simulations.consortium.generator import generate_consortium
from simulations.consortium.members import INDICATORS, MEMBER_COLUMNS
from simulations.consortium.writer import write_consortium

__all__ = [
    "INDICATORS",
    "INDUSTRIES",
    "MEMBER_COLUMNS",
    "REGIONS",
    "Consortium",
    "ConsortiumConfig",
    "ControllerGroup",
    "PlantedStructures",
    "generate_consortium",
    "write_consortium",
]
