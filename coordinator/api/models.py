"""Response models of the association API (they document the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """A machine-readable error: ``code`` names the rule, ``field`` the offending input."""

    code: str = Field(examples=["unknown_run"])
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Body of every 4xx answer."""

    error: ErrorDetail


class RunInfo(BaseModel):
    """A federated run: status (running, completed, stalled, failed) with its reason."""

    run_id: str
    started_at: float
    finished_at: float | None
    status: str
    reason: str
    rounds_completed: int
    config: dict[str, Any]


class RunList(BaseModel):
    """Runs, oldest first."""

    runs: list[RunInfo]


class ParticipationRow(BaseModel):
    """What one member did in one phase of a round."""

    member: str
    phase: str
    status: str
    reason: str


class RoundInfo(BaseModel):
    """One round: whether it was aggregated, its cost, who took part, federated metrics."""

    round: int
    aggregated: bool
    seconds: float | None
    bytes_up: int | None
    members: list[str]
    participation: list[ParticipationRow]
    metrics: dict[str, dict[str, float]]


class RoundList(BaseModel):
    """A run's rounds in order."""

    run_id: str
    rounds: list[RoundInfo]


class AttestationList(BaseModel):
    """Attestation records of the run's aggregated training rounds (checksums verified)."""

    run_id: str
    attestations: list[dict[str, Any]]


class MemberInfo(BaseModel):
    """Training rounds per participation status, and the latest reason per status."""

    member: str
    took_part: int
    refused: int
    dropped: int
    rejected: int
    last_reasons: dict[str, str]


class MemberList(BaseModel):
    """Members seen in the run store (or in one run)."""

    run_id: str | None
    members: list[MemberInfo]
