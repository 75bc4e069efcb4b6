"""The docstring examples of the privacy modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "privacy.accountant",
    "privacy.dp",
    "privacy.keys",
    "privacy.ledger",
    "privacy.packing",
    "privacy.paillier",
    "privacy.paillier_codec",
    "privacy.codec",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
