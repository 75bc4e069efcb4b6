"""Member data: the consortium data contract, CSV/Parquet ingest, validation, preprocessing."""

from participant_node.data.contract import (
    DEFAULT_MISSING_TOKENS,
    Contract,
    load_contract,
)
from participant_node.data.feature import MISSING_CATEGORY, ContractError, FeatureSpec
from participant_node.data.infer import infer_contract, infer_contract_file
from participant_node.data.preprocess import Preprocessor
from participant_node.data.report import RULES, DataValidationError, Issue, ValidationReport
from participant_node.data.validate import read_table, validate_file, validate_frame

__all__ = [
    "DEFAULT_MISSING_TOKENS",
    "MISSING_CATEGORY",
    "RULES",
    "Contract",
    "ContractError",
    "DataValidationError",
    "FeatureSpec",
    "Issue",
    "Preprocessor",
    "ValidationReport",
    "infer_contract",
    "infer_contract_file",
    "load_contract",
    "read_table",
    "validate_file",
    "validate_frame",
]
