"""Synthetic credit consortium: a relationship graph, K lenders' customer tables and labels.

Generative model
----------------
1. **Groups** (:mod:`.ownership`): ``group_fraction`` of the ``n`` companies form controller
   groups (sizes ``clip(1 + round(exp(N(1, .75))), 2, 60)``), each a random recursive tree
   under a person, the actual controller: person -> holding co -> operating cos.
2. **Companies** (:mod:`.companies`): region, industry, age, size and latent drivers
   ``z_fin, z_beh = .5 z_fin + .866 e, z_gro, eps ~ N(0, 1)``, industry outlook ``o_k``; own
   risk ``r_i = .55 z_fin + .65 z_beh - .35 z_gro - .35 o_k + rho_r - .25 s_i
   - .2 log(age/10) + .25 eps``.
3. **Ownership** (:mod:`.ownership`): majority stakes (>= 51 %) along the group trees,
   minority holders, planted cross-holding cycles of length 2-5 that always leak ownership
   to outside holders; legal representatives, shared addresses and phones.
4. **Guarantees** (:mod:`.guarantees`): planted circles of length 2-6 (length 2 = mutual),
   chains of depth 5-15, group and regional background edges.
5. **Labels** (:mod:`.labels`), with ``lambda = graph_effect``, a group shock
   ``u_g ~ N(0, 1)``, a circle shock ``v_c ~ N(0, 1.1^2)`` per strongly connected component
   of the guarantees in force at the scoring date, ``C_i`` circle membership (in such a
   component of size >= 2) and ``N_i`` nominee legal representative::

       observed default:  logit P(D_i) = a_h + r_i + lambda (u_g + v_c + 1.4 C_i + .6 N_i)
       default_6m:        logit P(Y_i) = a_f + r_i + lambda (u_g + v_c + 1.4 C_i + .6 N_i
                              + 1.7 log(1 + k_i) + 1.0 x_i + 1.5 log(1 + q_i))

   ``k_i``: defaulted companies ``i`` guarantees; ``x_i``: guaranteed amount on them over
   ``i``'s total assets (capped at 1); ``q_i``: defaulted companies in ``i``'s group.
   ``a_h``, ``a_f`` are calibrated to ``history_default_rate`` and ``default_rate``.
6. **Members** (:mod:`.members`): scored companies (no observed default) are dealt to members
   with regional/industry skew and size ratio ``member_size_ratio``; some belong to two. Each
   member observes 18 indicators through its own noise.

The graph terms are what members cannot see in their own tables; they become visible once
the registry (shareholdings, guarantees, observed defaults) is joined in.

Example
-------
>>> c = generate_consortium(ConsortiumConfig(n_companies=300, n_members=2, seed=1))
>>> sorted(c.members), len(c.graph.companies)
(['m01', 'm02'], 300)

Complexity: O(n log n + E log E) time, O(n K + E) memory; every stage is vectorised.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from graph_risk.frames import GraphFrames
from simulations.consortium.companies import (
    CompanyData,
    format_ids,
    make_companies,
    person_names,
    registry_strings,
)
from simulations.consortium.config import (
    INDUSTRIES,
    REGIONS,
    Consortium,
    ConsortiumConfig,
    ControllerGroup,
    PlantedStructures,
    streams,
)
from simulations.consortium.guarantees import Guarantees, make_guarantees
from simulations.consortium.labels import Labels, make_labels
from simulations.consortium.members import assign_members, member_table
from simulations.consortium.ownership import Groups, Ownership, make_ownership, plan_groups

# one random stream per name; never reorder (it would change every generated file)
_STREAM_NAMES = (
    "companies",
    "ownership",
    "guarantees",
    "labels",
    "members",
    "registry",
    "persons",
)

ProgressCallback = Callable[[str], None]


def generate_consortium(
    config: ConsortiumConfig, progress: ProgressCallback | None = None
) -> Consortium:
    """Generate a consortium from ``config`` (deterministic in the config).

    Parameters
    ----------
    config
        Sizes, seed, scoring date and model knobs.
    progress
        Called with each stage name of ``STAGES`` once that stage is done.
    """
    rng = streams(config.seed, _STREAM_NAMES)
    done = progress if progress is not None else (lambda _stage: None)
    n = config.n_companies

    groups = plan_groups(n, config.group_fraction, rng["ownership"])
    data = make_companies(n, groups, config.scoring_date.year, rng["companies"])
    company_ids = format_ids("C", np.arange(n), n)
    done("companies")

    own = make_ownership(n, groups, config.cross_holding_rate, rng["ownership"])
    done("ownership")

    guar = make_guarantees(
        n,
        groups,
        data.region,
        data.total_assets,
        config.circle_rate,
        config.chain_rate,
        rng["guarantees"],
    )
    done("guarantees")

    act = guar.active()
    labels = make_labels(
        data.own_risk,
        groups.group_of,
        own.nominee_rep,
        data.total_assets,
        guar.guarantor[act],
        guar.borrower[act],
        guar.amount[act],
        history_rate=config.history_default_rate,
        default_rate=config.default_rate,
        graph_effect=config.graph_effect,
        rng=rng["labels"],
    )
    done("labels")

    scored = np.flatnonzero(~labels.defaulted)
    parts = assign_members(
        scored,
        data.region,
        data.industry,
        config.n_members,
        config.member_size_ratio,
        config.multi_member_fraction,
        rng["members"],
    )
    member_rngs = streams(int(rng["members"].integers(0, 2**63)), config.member_ids)
    members = {
        mid: member_table(
            idx, company_ids, data, labels.default_6m, config.missing_rate, member_rngs[mid]
        )
        for mid, idx in zip(config.member_ids, parts, strict=True)
    }
    done("members")

    graph, person_ids = _graph_frames(config, data, groups, own, guar, labels, company_ids, rng)
    planted = _planted(groups, own, guar, company_ids, person_ids)
    done("tables")
    return Consortium(
        config=config, graph=graph, members=members, planted=planted, model=labels.model
    )


def _graph_frames(
    config: ConsortiumConfig,
    data: CompanyData,
    groups: Groups,
    own: Ownership,
    guar: Guarantees,
    labels: Labels,
    company_ids: np.ndarray,
    rng: dict[str, np.random.Generator],
) -> tuple[GraphFrames, np.ndarray]:
    """The five graph tables; also returns the person-id lookup (index -> id string)."""
    person_ids = format_ids("P", np.arange(own.n_persons), own.n_persons)
    reg = registry_strings(data, groups, rng["registry"])
    companies = pd.DataFrame(
        {
            "company_id": company_ids,
            "name": reg["name"],
            "industry": np.asarray(INDUSTRIES, dtype=object)[data.industry],
            "region": np.asarray(REGIONS, dtype=object)[data.region],
            "registered_capital": data.registered_capital,
            "total_assets": data.total_assets,
            "net_assets": np.round(data.total_assets * (1.0 - data.leverage), -3),
            "founded_year": data.founded_year,
            "legal_rep_id": person_ids[own.legal_rep],
            "address": reg["address"],
            "phone": reg["phone"],
        }
    )
    referenced = np.zeros(own.n_persons, dtype=bool)
    referenced[own.holder[~own.holder_is_company]] = True
    referenced[own.legal_rep] = True
    used = np.flatnonzero(referenced)
    persons = pd.DataFrame(
        {"person_id": person_ids[used], "name": person_names(len(used), rng["persons"])}
    )

    holder_ids = np.where(
        own.holder_is_company,
        company_ids[np.where(own.holder_is_company, own.holder, 0)],
        person_ids[np.where(own.holder_is_company, 0, own.holder)],
    )
    shareholdings = pd.DataFrame(
        {
            "holder_id": holder_ids,
            "holder_type": np.where(own.holder_is_company, "company", "person").astype(object),
            "company_id": company_ids[own.company],
            "share": own.share_bp / 10_000.0,
        }
    )
    base = np.datetime64(config.scoring_date.isoformat(), "D")
    guarantees = pd.DataFrame(
        {
            "guarantor_id": company_ids[guar.guarantor],
            "borrower_id": company_ids[guar.borrower],
            "amount": guar.amount,
            "start_date": _iso(base, guar.start_day),
            "end_date": _iso(base, guar.end_day),
        }
    )
    d = np.flatnonzero(labels.defaulted)
    defaults = pd.DataFrame(
        {"company_id": company_ids[d], "default_date": _iso(base, labels.default_day[d])}
    )
    graph = GraphFrames(
        companies=companies,
        persons=persons,
        shareholdings=shareholdings,
        guarantees=guarantees,
        defaults=defaults,
    )
    return graph, person_ids


def _iso(base: np.datetime64, days: np.ndarray) -> np.ndarray:
    return (base + days.astype("timedelta64[D]")).astype(str).astype(object)


def _planted(
    groups: Groups,
    own: Ownership,
    guar: Guarantees,
    company_ids: np.ndarray,
    person_ids: np.ndarray,
) -> PlantedStructures:
    """Planted structures with string ids (controller groups ordered by holding company)."""
    members = company_ids[groups.members]
    split = np.split(members, groups.offsets[1:-1]) if groups.n_groups else []
    controller_groups = [
        ControllerGroup(
            controller_id=str(person_ids[own.controller[g]]),
            holding_company_id=str(part[0]),
            company_ids=[str(x) for x in part],
        )
        for g, part in enumerate(split)
    ]
    return PlantedStructures(
        guarantee_circles=[[str(x) for x in company_ids[c]] for c in guar.circles],
        guarantee_chains=[[str(x) for x in company_ids[c]] for c in guar.chains],
        cross_holdings=[[str(x) for x in company_ids[c]] for c in own.cross_cycles],
        controller_groups=controller_groups,
    )
