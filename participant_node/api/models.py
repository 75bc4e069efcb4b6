"""Request and response models of the member scoring API (they document the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

Cell = str | float | int | bool | None


class ErrorDetail(BaseModel):
    """A machine-readable error: ``code`` names the rule, ``field`` the offending input."""

    code: str = Field(examples=["invalid_record"])
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Body of every 4xx answer."""

    error: ErrorDetail


class ScoreRequest(BaseModel):
    """Companies to score: each a record of the member's contract columns (raw values, as in
    the member's CSV) with the id column, e.g. ``{"company_id": "C000003", "leverage": 0.6,
    ...}``. Graph features are joined by the server from the association's table."""

    companies: list[dict[str, Cell]] = Field(min_length=1)


class Terms(BaseModel):
    """The tier's credit policy."""

    days: int
    text: str


class Score(BaseModel):
    """One scored company: PD (model and after the graph overlay), scorecard points, tier,
    credit terms, reason codes, graph evidence and early warnings."""

    company_id: str
    pd_model: float
    pd_final: float
    points: float
    tier: str
    terms: Terms
    reasons: list[dict[str, Any]]
    evidence: list[str]
    warnings: list[dict[str, Any]]
    overlay: bool
    in_guarantee_circle: bool


class ScoreResponse(BaseModel):
    """Scores in request order, and the model that produced them."""

    model_sha256: str
    results: list[Score]


class WarningEntry(BaseModel):
    """An early warning raised when the member scored a company."""

    at: str
    company_id: str
    tier: str
    pd_final: float
    code: str
    reason: str
    stage: str | None = None


class WarningList(BaseModel):
    """The member's warnings after ``since``, oldest first."""

    member_id: str
    warnings: list[WarningEntry]


class ModelInfo(BaseModel):
    """The model being served: version, run, attestation summary (no parameters)."""

    format: str
    kind: str
    n_features: int
    run_id: str
    round: int
    contract_fingerprint: str
    graph_feature_columns: list[str]
    calibrated: bool
    attestation: dict[str, Any]
    created_at: str
    sha256: str
