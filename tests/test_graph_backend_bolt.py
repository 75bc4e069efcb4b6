"""Bolt-only behaviour: dialect detection, FalkorDB's parameter pasting and limits, driver
lifecycle. All against the real server from tests/conftest.py."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph_risk.backends.bolt_dialect import (
    FALKORDB_STATEMENT_BYTES,
    Dialect,
    StatementTooLarge,
    float_expr,
    float_parts,
    float_parts_array,
)
from graph_risk.backends.local_server import LocalFalkorDB, bolt_answers
from graph_risk.backends.neo4j_backend import Neo4jBackend
from graph_risk.ingest import read_graph_dir, validate_frames

pytestmark = pytest.mark.bolt
SHARED_FIXTURE = HealthCheck.function_scoped_fixture  # the server is shared on purpose
Tables = dict[str, list[dict[str, str]]]


@pytest.fixture
def bolt(bolt_server: LocalFalkorDB) -> Iterator[Neo4jBackend]:
    backend = Neo4jBackend(bolt_server.uri, connection_timeout=5.0)
    backend.clear()
    try:
        yield backend
    finally:
        backend.close()
        assert bolt_server.alive(), bolt_server.log_tail()


def test_falkordb_is_detected_by_behaviour(bolt: Neo4jBackend, bolt_server: LocalFalkorDB) -> None:
    assert bolt.dialect == "falkordb"
    assert bolt.describe() == f"neo4j {bolt_server.uri} (falkordb dialect)"


def test_sequential_drivers_do_not_hang(bolt_server: LocalFalkorDB) -> None:
    # FalkorDB mishandles GOODBYE (the next connection on the reused descriptor hangs);
    # each backend below opens a new driver, so without the workaround every second one
    # would time out after 3 s
    started = time.monotonic()
    for _ in range(4):
        backend = Neo4jBackend(bolt_server.uri, connection_timeout=3.0)
        assert backend.counts()["companies"] >= 0
        backend.close()
    assert time.monotonic() - started < 3.0
    assert bolt_answers(bolt_server.bolt_port)


@settings(max_examples=25, deadline=None, suppress_health_check=[SHARED_FIXTURE])
@given(text=st.text(st.characters(min_codepoint=0x20, blacklist_characters="\x7f"),
                    max_size=60))
def test_any_printable_text_survives_parameter_pasting(bolt: Neo4jBackend, text: str) -> None:
    assert bolt._run("RETURN $x AS x", x=text) == [[text]]


@settings(max_examples=25, deadline=None, suppress_health_check=[SHARED_FIXTURE])
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
       .filter(lambda v: v == 0 or abs(v) > 1e-300))
def test_floats_arrive_exactly(bolt: Neo4jBackend, value: float) -> None:
    mantissa, exponent = float_parts(value)
    [[got]] = bolt._run(f"RETURN {float_expr('$m', '$e')} AS v", m=mantissa, e=exponent)
    assert got == value


def test_oversized_row_is_refused_before_anything_is_written(
        bolt: Neo4jBackend, tiny_tables: Tables, write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: one company name that cannot fit FalkorDB's 4 KiB statement buffer
    tiny_tables["companies"][4]["name"] = "N" * 5000
    frames, sources = read_graph_dir(write_graph_dir(tiny_tables))
    # Execute
    with pytest.raises(StatementTooLarge, match="companies row with key 'C5'"):
        bolt.upsert(frames, sources)
    # Assert
    assert bolt.counts()["companies"] == 0
    with pytest.raises(StatementTooLarge):
        bolt.company("C" * 5000)


def test_long_rows_are_read_back_in_small_pages(
        bolt: Neo4jBackend, tiny_tables: Tables, write_graph_dir: Callable[..., Path]) -> None:
    # Prepare: 60 companies with 1500-character addresses, ~90 KB in all (one unpaged
    # record over 64 KiB is corrupted by FalkorDB)
    base = tiny_tables["companies"][0]
    tiny_tables["companies"] += [dict(base, company_id=f"L{i:02d}", address=f"{i}" + "a" * 1500)
                                 for i in range(60)]
    directory = write_graph_dir(tiny_tables)
    expected = validate_frames(*read_graph_dir(directory)).companies
    bolt.upsert(*read_graph_dir(directory))
    # Execute
    got = bolt.frames().companies
    # Assert
    assert got.equals(expected)


def test_dialect_batches_fit_the_statement_budget() -> None:
    # Prepare
    dialect = Dialect("falkordb")
    query = "UNWIND $rows AS r RETURN count(*)"
    rows = [dialect.encode_row([f"C{i:06d}", "it's", *float_parts(i / 7)]) for i in range(500)]
    # Execute
    batches = list(dialect.batches(query, rows))
    # Assert
    assert sum(len(b) for b in batches) == 500 and len(batches) > 1
    assert all(dialect.statement_bytes(query, {"rows": b}) <= FALKORDB_STATEMENT_BYTES - 96
               for b in batches)
    assert [len(b) for b in Dialect("neo4j", rows_per_batch=200).batches(query, rows)] == [
        200, 200, 100]


def test_dialect_encoding() -> None:
    assert Dialect("falkordb").encode(["a'b", {"k": "c\\d"}, 1]) == ["a\\'b", {"k": "c\\\\d"}, 1]
    assert Dialect("neo4j").encode("a'b") == "a'b"
    with pytest.raises(ValueError, match=r"dialect must be neo4j\|falkordb"):
        Dialect("sqlite")


@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_float_parts_are_exact(value: float) -> None:
    mantissa, exponent = float_parts(value)
    assert abs(mantissa) < 2**53
    assert math.ldexp(mantissa, exponent) == value


@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=20))
def test_vectorised_float_parts_match(values: list[float]) -> None:
    mantissas, exponents = float_parts_array(np.array(values, dtype=np.float64))
    assert [list(p) for p in zip(mantissas.tolist(), exponents.tolist(), strict=True)] == [
        float_parts(v) for v in values]


def test_float_parts_refuses_non_finite() -> None:
    with pytest.raises(ValueError, match="float must be finite"):
        float_parts(math.inf)


def test_bad_uri_and_unreachable_server() -> None:
    with pytest.raises(ValueError, match="Bolt uri must start with one of"):
        Neo4jBackend("http://127.0.0.1:7687")
    from graph_risk.backends import GraphBackendError

    with pytest.raises(GraphBackendError, match="cannot reach Bolt server"):
        Neo4jBackend("bolt://127.0.0.1:9", connection_timeout=2.0)
