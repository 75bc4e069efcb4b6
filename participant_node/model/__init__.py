"""Credit models, parameter flattening and the local training loop."""

from participant_node.model.nets import (
    MODEL_KINDS,
    LogisticScorecard,
    ModelSpec,
    SmallMLP,
    build_from_spec,
    build_model,
)
from participant_node.model.params import get_flat, num_parameters, set_flat
from participant_node.model.train import TrainSettings, predict_proba, train_local

__all__ = [
    "MODEL_KINDS",
    "LogisticScorecard",
    "ModelSpec",
    "SmallMLP",
    "TrainSettings",
    "build_from_spec",
    "build_model",
    "get_flat",
    "num_parameters",
    "predict_proba",
    "set_flat",
    "train_local",
]
