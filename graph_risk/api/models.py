"""Response models of the risk-team graph API (they document the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """A machine-readable error: ``code`` names the rule, ``field`` the offending input."""

    code: str = Field(examples=["unknown_company"])
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """Body of every 4xx answer."""

    error: ErrorDetail


class CompanySummary(BaseModel):
    """One search hit."""

    company_id: str
    name: str
    industry: str | None = None
    region: str | None = None
    defaulted: bool
    in_guarantee_circle: bool


class CompanySearch(BaseModel):
    """Companies whose id or name starts with the query."""

    query: str
    results: list[CompanySummary]


class CompanyProfile(BaseModel):
    """Registry row, default status and graph features (docs/graph-features.md)."""

    company_id: str
    name: str
    industry: str | None = None
    region: str | None = None
    registered_capital: float | None = None
    total_assets: float | None = None
    net_assets: float | None = None
    founded_year: int | None = None
    legal_rep_id: str | None = None
    address: str | None = None
    phone: str | None = None
    defaulted: bool
    default_date: str | None = None
    features: dict[str, float | int | bool]


class PathStep(BaseModel):
    """One edge of an evidence path: ``source`` holds/guarantees ``target``; ``value`` is
    the share (ownership paths) or the amount (guarantee paths)."""

    source: str
    target: str
    value: float


class BeneficialOwnerModel(BaseModel):
    """A holder with integrated ownership >= 25% (used when nobody controls)."""

    holder: str
    holder_type: str
    integrated_share: float
    paths: list[list[PathStep]]


class Controllers(BaseModel):
    """Ultimate controller with its shareholding paths, or the beneficial owners."""

    company_id: str
    controller: str | None
    controller_type: str | None
    integrated_share: float
    control_cycle: list[str]
    paths: list[list[PathStep]]
    beneficial_owners: list[BeneficialOwnerModel]


class RelatedLink(BaseModel):
    """``company_id`` shares ``value`` (a controller, a legal representative, an address or a
    phone) with another group member."""

    company_id: str
    kind: str
    value: str


class RelatedPartiesModel(BaseModel):
    """The company's related-party group and the links that bind it."""

    company_id: str
    members: list[str]
    links: list[RelatedLink]


class CircleModel(BaseModel):
    """A guarantee circle: ``members[i]`` guarantees ``members[i+1]`` (cyclically) for
    ``amounts[i]``."""

    members: list[str]
    amounts: list[float]
    length: int


class CompanyCircles(BaseModel):
    """Guarantee circles (length 2..6) through the company."""

    company_id: str
    circles: list[CircleModel]


class CirclePage(BaseModel):
    """One page of every guarantee circle, shortest first; pass ``next_cursor`` back as
    ``cursor`` for the next page (``null`` on the last page)."""

    total: int
    circles: list[CircleModel]
    next_cursor: str | None


class ExposedCompany(BaseModel):
    """A guarantor exposed to the company's default, ``hop`` guarantee edges away."""

    company_id: str
    hop: int


class ExposureModel(BaseModel):
    """Guarantee-chain exposure to the company's default within ``hops``."""

    company_id: str
    hops: int
    depth: int
    exposed: int
    amount: float
    companies: list[ExposedCompany]
    paths: list[list[PathStep]]


class AffectedCompany(BaseModel):
    """Relative equity loss ``loss`` in [0, 1] of a company hit by the what-if."""

    company_id: str
    loss: float


class ContagionModel(BaseModel):
    """DebtRank contagion score under the observed defaults, and the what-if system loss
    were this company to default."""

    company_id: str
    contagion_score: float
    system_loss: float
    relative_loss: float
    affected_count: int
    affected: list[AffectedCompany]
    paths: list[list[PathStep]]


class GraphNode(BaseModel):
    """A drawn node."""

    id: str
    kind: str
    name: str
    hop: int
    defaulted: bool
    default_date: str | None
    in_guarantee_circle: bool


class GraphEdge(BaseModel):
    """A drawn edge: guarantor -> borrower (``amount``, dates) or holder -> company
    (``share``; ``control`` when it carries control)."""

    id: str
    source: str
    target: str
    kind: str
    share: float | None
    amount: float | None
    start_date: str | None
    end_date: str | None
    control: bool


class NeighbourhoodModel(BaseModel):
    """Ego network for drawing (nearest rings first, cut at ``limit`` nodes)."""

    company_id: str
    hops: int
    limit: int
    truncated: bool
    nodes: list[GraphNode]
    edges: list[GraphEdge]
