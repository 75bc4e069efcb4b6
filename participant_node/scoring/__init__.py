"""Member-side scoring: PD -> points -> tier -> credit terms, contagion overlay, reasons,
early warnings (issue 6 §1). Modules: ``policy`` (the frozen policy + TOML), ``points``,
``overlay``, ``network`` (numpy model), ``attribution`` (exact integrated gradients),
``encoder``, ``reasons``, ``warnings``, ``graph`` (what a member knows of the graph),
``calibration`` (Platt / isotonic, Brier, reliability), ``calibrate`` (the ``node calibrate``
command), ``artifact`` (the model file), ``checkpoint`` (member-side export from the run
store), ``scorer``."""

from participant_node.scoring.artifact import (
    ArtifactError,
    ModelArtifact,
    attestation_summary,
    export_model,
    load_artifact,
)
from participant_node.scoring.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    brier,
    calibrator_from_state,
    fit_calibration,
    reliability_table,
)
from participant_node.scoring.encoder import RecordEncoder, RecordError
from participant_node.scoring.graph import DefaultChain, RegistryGraph, RelationshipView
from participant_node.scoring.network import ScoringNet
from participant_node.scoring.overlay import contagion_overlay, exposure_matrix
from participant_node.scoring.points import assign_tier, pd_to_points, points_to_pd
from participant_node.scoring.policy import PolicyError, ScoringPolicy, Terms, load_policy
from participant_node.scoring.scorer import Scorer, ScoreResult
from participant_node.scoring.warnings import Snapshot, WarningState, early_warnings

__all__ = [
    "ArtifactError",
    "DefaultChain",
    "IsotonicCalibrator",
    "ModelArtifact",
    "PlattCalibrator",
    "PolicyError",
    "RecordEncoder",
    "RecordError",
    "RegistryGraph",
    "RelationshipView",
    "ScoreResult",
    "Scorer",
    "ScoringNet",
    "ScoringPolicy",
    "Snapshot",
    "Terms",
    "WarningState",
    "assign_tier",
    "attestation_summary",
    "brier",
    "calibrator_from_state",
    "contagion_overlay",
    "early_warnings",
    "export_model",
    "exposure_matrix",
    "fit_calibration",
    "load_artifact",
    "load_policy",
    "pd_to_points",
    "points_to_pd",
    "reliability_table",
]
