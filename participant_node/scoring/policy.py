"""The member's scoring policy: one frozen dataclass, read once from TOML and passed down.

Every field has the default of issue 6; a TOML file overrides any subset::

    [points]            # industry scorecard convention
    pdo = 20            # points to double the odds (good:bad)
    base_score = 600    # score at the base odds
    base_odds = 50      # good:bad odds at the base score

    [tiers]             # minimum points of each tier, best first; D takes the rest
    A = 600
    B = 570
    C = 540

    [terms.A]           # the credit policy of a tier
    days = 60
    text = "60-day terms; monthly reconciliation; automatic reminders"

    [overlay]           # graph contagion overlay (participant_node.scoring.overlay)
    enabled = true
    weight = 0.5
    unscored_neighbour_pd = 0.05

    [warnings]
    pd_jump = 0.05                 # absolute PD rise that raises PD_JUMP
    receivables_column = "receivables_days_past_due"
    [[warnings.receivables_stage]] # ascending days; the highest stage reached is reported
    days = 30
    action = "negotiate"

    [reasons]
    top = 3

Errors name the file, the key and the rule, e.g.
``policy.toml: tiers: cut-offs must decrease from A to C; got A=560 < B=570``.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

TIERS: tuple[str, ...] = ("A", "B", "C", "D")


class PolicyError(ValueError):
    """A scoring policy breaks a named rule."""


@dataclass(frozen=True)
class Terms:
    """Credit policy of one tier: payment terms in days (0 = cash on delivery) and the text."""

    days: int
    text: str


@dataclass(frozen=True)
class ReceivablesStage:
    """Escalation once the oldest receivable is at least ``days`` past due."""

    days: int
    action: str


DEFAULT_TERMS: dict[str, Terms] = {
    "A": Terms(60, "60-day terms with monthly reconciliation and automatic reminders"),
    "B": Terms(45, "45-day terms with a fortnightly review"),
    "C": Terms(30, "30-day terms with a named account owner and a legal warning letter"),
    "D": Terms(0, "cash on delivery or a third-party guarantee"),
}
DEFAULT_STAGES: tuple[ReceivablesStage, ...] = (
    ReceivablesStage(30, "negotiate"),
    ReceivablesStage(60, "collection agency"),
    ReceivablesStage(90, "legal"),
)


@dataclass(frozen=True)
class ScoringPolicy:
    """Points scale, tiers and their terms, overlay, warnings and reasons (see module doc)."""

    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0
    cutoffs: tuple[float, float, float] = (600.0, 570.0, 540.0)
    terms: Mapping[str, Terms] = field(default_factory=lambda: dict(DEFAULT_TERMS))
    overlay_enabled: bool = True
    overlay_weight: float = 0.5
    unscored_neighbour_pd: float = 0.05
    pd_jump: float = 0.05
    receivables_column: str | None = None
    receivables_stages: tuple[ReceivablesStage, ...] = DEFAULT_STAGES
    top_reasons: int = 3
    source: str = field(default="<default policy>", compare=False)

    def __post_init__(self) -> None:
        where = self.source
        _positive(where, "points.pdo", self.pdo)
        _positive(where, "points.base_odds", self.base_odds)
        if not math.isfinite(self.base_score):
            raise PolicyError(f"{where}: points.base_score must be finite; got {self.base_score}")
        if len(self.cutoffs) != 3 or not all(math.isfinite(c) for c in self.cutoffs):
            raise PolicyError(
                f"{where}: tiers: need finite cut-offs A, B and C; got {self.cutoffs}"
            )
        for (hi_name, hi), (lo_name, lo) in zip(
            zip(TIERS, self.cutoffs, strict=False),
            zip(TIERS[1:], self.cutoffs[1:], strict=False),
            strict=False,
        ):
            if not hi > lo:
                raise PolicyError(
                    f"{where}: tiers: cut-offs must decrease from A to C; "
                    f"got {hi_name}={hi:g} <= {lo_name}={lo:g}"
                )
        missing = [t for t in TIERS if t not in self.terms]
        if missing:
            raise PolicyError(f"{where}: terms: every tier needs terms; missing {missing}")
        for t in TIERS:
            if self.terms[t].days < 0:
                raise PolicyError(f"{where}: terms.{t}.days must be >= 0; got {self.terms[t].days}")
        for name, value in (
            ("overlay.weight", self.overlay_weight),
            ("overlay.unscored_neighbour_pd", self.unscored_neighbour_pd),
        ):
            if not 0.0 <= value <= 1.0:
                raise PolicyError(f"{where}: {name} must be in [0, 1]; got {value}")
        if not 0.0 < self.pd_jump <= 1.0:
            raise PolicyError(f"{where}: warnings.pd_jump must be in (0, 1]; got {self.pd_jump}")
        days = [s.days for s in self.receivables_stages]
        if not days or days != sorted(set(days)) or days[0] < 1:
            raise PolicyError(
                f"{where}: warnings.receivables_stage: days must be >= 1 and strictly "
                f"increasing; got {days}"
            )
        if not 1 <= self.top_reasons <= 20:
            raise PolicyError(f"{where}: reasons.top must be in [1, 20]; got {self.top_reasons}")

    @property
    def factor(self) -> float:
        """Points per unit of log-odds: ``pdo / ln 2``."""
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        """Points at odds 1:1: ``base_score - factor * ln(base_odds)``."""
        return self.base_score - self.factor * math.log(self.base_odds)

    @property
    def overlay_weight_effective(self) -> float:
        """``W`` when the overlay is on, else 0."""
        return self.overlay_weight if self.overlay_enabled else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (for the API's model/policy endpoints and reports)."""
        return {
            "points": {"pdo": self.pdo, "base_score": self.base_score, "base_odds": self.base_odds},
            "tiers": dict(zip(TIERS, self.cutoffs, strict=False)),
            "terms": {t: {"days": v.days, "text": v.text} for t, v in self.terms.items()},
            "overlay": {
                "enabled": self.overlay_enabled,
                "weight": self.overlay_weight,
                "unscored_neighbour_pd": self.unscored_neighbour_pd,
            },
            "warnings": {
                "pd_jump": self.pd_jump,
                "receivables_column": self.receivables_column,
                "receivables_stage": [
                    {"days": s.days, "action": s.action} for s in self.receivables_stages
                ],
            },
            "reasons": {"top": self.top_reasons},
        }


def _positive(where: str, name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise PolicyError(f"{where}: {name} must be a finite number > 0; got {value}")


_SECTIONS: dict[str, set[str]] = {
    "points": {"pdo", "base_score", "base_odds"},
    "tiers": {"A", "B", "C"},
    "terms": set(TIERS),
    "overlay": {"enabled", "weight", "unscored_neighbour_pd"},
    "warnings": {"pd_jump", "receivables_column", "receivables_stage"},
    "reasons": {"top"},
}


def _number(where: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PolicyError(f"{where}: {key} must be a number; got {value!r}")
    return float(value)


def policy_from_dict(data: Mapping[str, Any], source: str = "<policy>") -> ScoringPolicy:
    """Build a policy from the TOML structure (see the module docstring); unknown keys fail."""
    for section, body in data.items():
        if section not in _SECTIONS:
            raise PolicyError(
                f"{source}: unknown section [{section}]; expected {sorted(_SECTIONS)}"
            )
        if not isinstance(body, Mapping):
            raise PolicyError(f"{source}: [{section}] must be a table")
        unknown = set(body) - _SECTIONS[section]
        if unknown:
            raise PolicyError(f"{source}: [{section}] has unknown key(s) {sorted(unknown)}")
    kw: dict[str, Any] = {"source": source}
    pts = data.get("points", {})
    for key in ("pdo", "base_score", "base_odds"):
        if key in pts:
            kw[key] = _number(source, f"points.{key}", pts[key])
    tiers = data.get("tiers", {})
    base = ScoringPolicy()
    kw["cutoffs"] = tuple(
        _number(source, f"tiers.{t}", tiers[t]) if t in tiers else c
        for t, c in zip(TIERS, base.cutoffs, strict=False)
    )
    terms = dict(DEFAULT_TERMS)
    for tier, body in data.get("terms", {}).items():
        days = body.get("days", terms[tier].days)
        if isinstance(days, bool) or not isinstance(days, int):
            raise PolicyError(f"{source}: terms.{tier}.days must be an integer; got {days!r}")
        terms[tier] = Terms(days, str(body.get("text", terms[tier].text)))
    kw["terms"] = terms
    ov = data.get("overlay", {})
    if "enabled" in ov:
        if not isinstance(ov["enabled"], bool):
            raise PolicyError(f"{source}: overlay.enabled must be true or false")
        kw["overlay_enabled"] = ov["enabled"]
    if "weight" in ov:
        kw["overlay_weight"] = _number(source, "overlay.weight", ov["weight"])
    if "unscored_neighbour_pd" in ov:
        kw["unscored_neighbour_pd"] = _number(
            source, "overlay.unscored_neighbour_pd", ov["unscored_neighbour_pd"]
        )
    wa = data.get("warnings", {})
    if "pd_jump" in wa:
        kw["pd_jump"] = _number(source, "warnings.pd_jump", wa["pd_jump"])
    if "receivables_column" in wa:
        col = wa["receivables_column"]
        if not isinstance(col, str) or not col.strip():
            raise PolicyError(f"{source}: warnings.receivables_column must be a column name")
        kw["receivables_column"] = col
    if "receivables_stage" in wa:
        stages = []
        for i, s in enumerate(wa["receivables_stage"]):
            if not isinstance(s, Mapping) or set(s) != {"days", "action"}:
                raise PolicyError(
                    f"{source}: warnings.receivables_stage[{i}] needs exactly days and action"
                )
            stages.append(
                ReceivablesStage(int(_number(source, "receivables_stage.days", s["days"])),
                                 str(s["action"]))
            )  # fmt: skip
        kw["receivables_stages"] = tuple(stages)
    if "top" in data.get("reasons", {}):
        kw["top_reasons"] = int(_number(source, "reasons.top", data["reasons"]["top"]))
    return ScoringPolicy(**kw)


def load_policy(path: str | Path | None = None, **overrides: Any) -> ScoringPolicy:
    """Read a policy TOML (``None``: the defaults), then apply keyword ``overrides``.

    Raises
    ------
    PolicyError
        Naming the file, the key and the rule.
    """
    if path is None:
        policy = ScoringPolicy()
    else:
        p = Path(path)
        if not p.is_file():
            raise PolicyError(f"{p}: no such policy file")
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(f"{p}: not valid TOML ({exc})") from None
        policy = policy_from_dict(data, source=str(p))
    return replace(policy, **overrides) if overrides else policy
