"""Every Cypher statement the Bolt backend sends, and the row codecs around them.

Graph model on the server::

    (:Entity:Company {id, name, industry, region, registered_capital, total_assets,
                      net_assets, founded_year, legal_rep_id?, address?, phone?,
                      default_date?})
    (:Entity:Person {id, name})
    (holder:Entity)-[:HOLDS {share}]->(:Company)
    (:Company)-[:GUARANTEES {amount, start_date, end_date}]->(:Company)

An observed default is the ``default_date`` property of its company (one per company). All
statements are module constants built from fixed labels, relationship types and property
names; user data only ever travels as parameters (``$rows``, ``$ids``, ``$page``). They use
the portable openCypher subset that Neo4j 5 and FalkorDB share: no APOC/GDS procedures, no
``CALL {}``/``EXISTS {}``/``COUNT {}`` subqueries, no ``shortestPath``.

Write statements take flat list rows of scalars (not maps, which would repeat every key in
each row and fill FalkorDB's 4 KiB statement buffer, see :mod:`.bolt_dialect`; nested lists
also cost FalkorDB noticeably more to parse); a float travels as two integer slots ``m, e``
with value ``m * 2^e``. Each write ends in ``RETURN count(*)`` so a row whose endpoints were not
matched is noticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from graph_risk.backends.bolt_dialect import float_expr, float_parts_array
from graph_risk.ingest import all_columns

F = float_expr

UPSERT_COMPANIES = (
    "UNWIND $rows AS r MERGE (c:Entity:Company {id: r[0]}) "
    "SET c.name = r[1], c.industry = r[2], c.region = r[3], "
    f"c.registered_capital = {F('r[4]', 'r[5]')}, c.total_assets = {F('r[6]', 'r[7]')}, "
    f"c.net_assets = {F('r[8]', 'r[9]')}, c.founded_year = r[10], c.legal_rep_id = r[11], "
    "c.address = r[12], c.phone = r[13] RETURN count(*) AS n"
)
UPSERT_PERSONS = (
    "UNWIND $rows AS r MERGE (p:Entity:Person {id: r[0]}) SET p.name = r[1] "
    "RETURN count(*) AS n"
)
UPSERT_HOLDINGS = {
    holder: (
        f"UNWIND $rows AS r MATCH (h:{label} {{id: r[0]}}) MATCH (c:Company {{id: r[1]}}) "
        f"MERGE (h)-[e:HOLDS]->(c) SET e.share = {F('r[2]', 'r[3]')} RETURN count(*) AS n"
    )
    for holder, label in (("person", "Person"), ("company", "Company"))
}
UPSERT_GUARANTEES = (
    "UNWIND $rows AS r MATCH (g:Company {id: r[0]}) MATCH (b:Company {id: r[1]}) "
    "MERGE (g)-[e:GUARANTEES {start_date: r[4], end_date: r[5]}]->(b) "
    f"SET e.amount = {F('r[2]', 'r[3]')} RETURN count(*) AS n"
)
UPSERT_DEFAULTS = (
    "UNWIND $rows AS r MATCH (c:Company {id: r[0]}) SET c.default_date = r[1] "
    "RETURN count(*) AS n"
)

COUNTS = {
    "companies": "MATCH (c:Company) RETURN count(c) AS n",
    "persons": "MATCH (p:Person) RETURN count(p) AS n",
    "shareholdings": "MATCH (:Entity)-[e:HOLDS]->(:Company) RETURN count(e) AS n",
    "guarantees": "MATCH (:Company)-[e:GUARANTEES]->(:Company) RETURN count(e) AS n",
    "defaults": "MATCH (c:Company) WHERE c.default_date IS NOT NULL RETURN count(c) AS n",
}
DELETE_SOME = "MATCH (n:Entity) WITH n LIMIT 5000 DETACH DELETE n RETURN count(*) AS n"

INDEXED_LABELS: tuple[str, ...] = ("Entity", "Company", "Person")
NEO4J_SCHEMA: tuple[str, ...] = (
    "CREATE CONSTRAINT fedcredit_entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX fedcredit_company_id IF NOT EXISTS FOR (n:Company) ON (n.id)",
    "CREATE INDEX fedcredit_person_id IF NOT EXISTS FOR (n:Person) ON (n.id)",
)
FALKORDB_LIST_INDEXES = "CALL db.indexes() YIELD label, properties RETURN label, properties"
FALKORDB_CREATE_INDEX = {
    label: f"CREATE INDEX FOR (n:{label}) ON (n.id)" for label in INDEXED_LABELS
}

REL_TYPES = {"GUARANTEES": "guarantee", "HOLDS": "shareholding"}
_TYPES_FOR = {
    ("guarantee",): "GUARANTEES",
    ("shareholding",): "HOLDS",
    ("guarantee", "shareholding"): "HOLDS|GUARANTEES",
}
_PATTERNS = {"both": ("-", "-"), "in": ("<-", "-"), "out": ("-", "->")}
INCIDENT_EDGES = {
    (kinds, direction): (
        f"UNWIND $ids AS id MATCH (a:Entity {{id: id}}){left}[e:{types}]{right}(b:Entity) "
        "RETURN type(e) AS t, startNode(e).id AS s, endNode(e).id AS d, e.share AS share, "
        "e.amount AS amount, e.start_date AS sd, e.end_date AS ed"
    )
    for kinds, types in _TYPES_FOR.items()
    for direction, (left, right) in _PATTERNS.items()
}


def incident_edges_query(kinds: tuple[str, ...], direction: str) -> str:
    """The incident-edge statement for a set of edge kinds and a direction."""
    return INCIDENT_EDGES[(tuple(sorted(kinds)), direction)]


@dataclass(frozen=True)
class ReadSpec:
    """How to read (part of) one table: the pattern, the row, and the row's text size."""

    match_all: str
    match_by: dict[str, str]
    row: str
    text_size: str
    fields: int

    def _paged(self, head: str) -> str:
        # rows are returned $budget bytes' worth per record: 4 bytes per character (UTF-8
        # worst case) plus 9 per field; FalkorDB corrupts records over 64 KiB
        return (
            f"{head} WITH collect({self.row}) AS all, max({self.text_size}) AS m "
            f"WITH all, $budget / (4 * coalesce(m, 0) + {9 * self.fields + 8}) AS p "
            "WITH all, CASE WHEN p < 1 THEN 1 WHEN p > 5000 THEN 5000 ELSE p END AS p "
            "UNWIND range(0, size(all) - 1, p) AS k RETURN all[k..k + p] AS rows"
        )

    def read_all(self) -> str:
        """Every row, in pages (one record per page); parameter ``$budget``."""
        return self._paged(self.match_all)

    def lookup(self, column: str) -> str:
        """Rows whose ``column`` is in ``$ids``, in pages; parameter ``$budget``."""
        return self._paged(self.match_by[column])


def _sizes(*exprs: str) -> str:
    return " + ".join(f"size(coalesce({e}, ''))" for e in exprs)


_COMPANY_ROW = ("[c.id, c.name, c.industry, c.region, c.registered_capital, c.total_assets, "
                "c.net_assets, c.founded_year, c.legal_rep_id, c.address, c.phone]")
READS: dict[str, tuple[ReadSpec, ...]] = {
    "companies": (ReadSpec(
        "MATCH (c:Company)",
        {"company_id": "UNWIND $ids AS id MATCH (c:Company {id: id})"},
        _COMPANY_ROW,
        _sizes("c.id", "c.name", "c.industry", "c.region", "c.legal_rep_id", "c.address",
               "c.phone"),
        11,
    ),),
    "persons": (ReadSpec(
        "MATCH (p:Person)",
        {"person_id": "UNWIND $ids AS id MATCH (p:Person {id: id})"},
        "[p.id, p.name]",
        _sizes("p.id", "p.name"),
        2,
    ),),
    "shareholdings": tuple(ReadSpec(
        f"MATCH (h:{label})-[e:HOLDS]->(c:Company)",
        {"company_id": f"UNWIND $ids AS id MATCH (h:{label})-[e:HOLDS]->(c:Company {{id: id}})"},
        f"[h.id, '{holder}', c.id, e.share]",
        _sizes("h.id", "c.id"),
        4,
    ) for holder, label in (("person", "Person"), ("company", "Company"))),
    "guarantees": (ReadSpec(
        "MATCH (g:Company)-[e:GUARANTEES]->(b:Company)",
        {"guarantor_id":
            "UNWIND $ids AS id MATCH (g:Company {id: id})-[e:GUARANTEES]->(b:Company)"},
        "[g.id, b.id, e.amount, e.start_date, e.end_date]",
        _sizes("g.id", "b.id", "e.start_date", "e.end_date"),
        5,
    ),),
    "defaults": (ReadSpec(
        "MATCH (c:Company) WHERE c.default_date IS NOT NULL",
        {"company_id":
            "UNWIND $ids AS id MATCH (c:Company {id: id}) WHERE c.default_date IS NOT NULL"},
        "[c.id, c.default_date]",
        _sizes("c.id", "c.default_date"),
        2,
    ),),
}


def _text(frame: pd.DataFrame, column: str) -> list[Any]:
    values = frame[column].to_numpy(dtype=object)
    return [None if missing else v for v, missing in zip(values, pd.isna(values), strict=True)]


def _floats(frame: pd.DataFrame, column: str) -> list[list[int]]:
    mantissa, exponent = float_parts_array(frame[column].to_numpy(dtype=np.float64))
    return [mantissa.tolist(), exponent.tolist()]


ENCODED: dict[str, tuple[tuple[str, str], ...]] = {
    # (column, how) in statement slot order; a float takes two slots
    "companies": (("company_id", "text"), ("name", "text"), ("industry", "text"),
                  ("region", "text"), ("registered_capital", "float"),
                  ("total_assets", "float"), ("net_assets", "float"),
                  ("founded_year", "int"), ("legal_rep_id", "text"), ("address", "text"),
                  ("phone", "text")),
    "persons": (("person_id", "text"), ("name", "text")),
    "shareholdings": (("holder_id", "text"), ("company_id", "text"), ("share", "float")),
    "guarantees": (("guarantor_id", "text"), ("borrower_id", "text"), ("amount", "float"),
                   ("start_date", "text"), ("end_date", "text")),
    "defaults": (("company_id", "text"), ("default_date", "text")),
}


def encode_rows(table: str, frame: pd.DataFrame) -> list[list[Any]]:
    """Flat parameter rows for the upsert statement of ``table`` (canonical ``frame``).

    >>> f = pd.DataFrame({"holder_id": ["P1"], "company_id": ["C1"], "share": [0.75]})
    >>> encode_rows("shareholdings", f)
    [['P1', 'C1', 3, -2]]
    """
    columns: list[list[Any]] = []
    for column, how in ENCODED[table]:
        if how == "float":
            columns.extend(_floats(frame, column))
        elif how == "int":
            columns.append(frame[column].to_numpy(dtype=np.int64).tolist())
        else:
            columns.append(_text(frame, column))
    return [list(row) for row in zip(*columns, strict=True)]


def decode_rows(table: str, rows: list[list[Any]]) -> pd.DataFrame:
    """Rows read with a :class:`ReadSpec` of ``table`` as a (non-canonical) DataFrame."""
    return pd.DataFrame(rows, columns=list(all_columns(table)))
