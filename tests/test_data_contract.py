"""The consortium data contract: construction rules, TOML round trip, fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from participant_node.data import Contract, ContractError, FeatureSpec, load_contract


def _contract(**overrides: object) -> Contract:
    kwargs: dict[str, object] = dict(
        label="default_6m",
        positive="1",
        negative="0",
        id_column="company_id",
        exclude=("name",),
        features=(
            FeatureSpec.numeric(
                "revenue",
                min=0.0,
                max=1e9,
                center=2e6,
                scale=5e5,
                missing="impute",
                fill=1.5e6,
                indicator=True,
            ),
            FeatureSpec.categorical("industry", ["manufacturing", "retail"], missing="category"),
            FeatureSpec.numeric("age", center=12.0, scale=4.0),
        ),
    )
    kwargs.update(overrides)
    return Contract(**kwargs)  # type: ignore[arg-type]


def test_round_trip_save_load_is_equal_and_same_fingerprint(tmp_path: Path) -> None:
    c = _contract(name="alliance-2026", description="hand-written for the test")
    path = c.save(tmp_path / "contract.toml")
    back = load_contract(path)
    assert back == c
    assert back.fingerprint() == c.fingerprint()
    assert back.features[0].indicator and back.features[0].fill == 1.5e6
    assert back.features[1].categories == ("manufacturing", "retail")
    assert [p.name for p in tmp_path.iterdir()] == ["contract.toml"]  # no temp file left


def test_saved_file_is_readable_toml_with_documented_keys(tmp_path: Path) -> None:
    text = _contract().save(tmp_path / "c.toml").read_text(encoding="utf-8")
    assert "[contract]" in text and "[[features]]" in text
    assert 'id_column = "company_id"' in text
    assert 'type = "categorical"' in text and 'missing = "impute"' in text


def test_fingerprint_ignores_descriptions_but_not_encoding_constants() -> None:
    base = _contract()
    assert _contract(name="x", description="y").fingerprint() == base.fingerprint()
    moved = FeatureSpec.numeric("age", center=12.5, scale=4.0)
    changed = _contract(features=(*base.features[:2], moved))
    assert changed.fingerprint() != base.fingerprint()
    reordered = _contract(features=(base.features[1], base.features[0], base.features[2]))
    assert reordered.fingerprint() != base.fingerprint()


def test_with_features_appends_and_keeps_original() -> None:
    base = _contract()
    extra = FeatureSpec.numeric("graph_controller_defaults", center=0.1, scale=0.3)
    more = base.with_features([extra])
    assert more.feature_names == (*base.feature_names, "graph_controller_defaults")
    assert base.feature_names == ("revenue", "industry", "age")
    with pytest.raises(ContractError, match="unique"):
        more.with_features([extra])


def test_numeric_labels_are_canonical() -> None:
    c = _contract(positive="1.0", negative=0)
    assert (c.positive, c.negative) == ("1", "0")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FeatureSpec.numeric("x", center=0.0, scale=0.0), "scale must be > 0"),
        (
            lambda: FeatureSpec.numeric("x", center=0.0, scale=1.0, min=5.0, max=1.0),
            "min must be <= max",
        ),
        (
            lambda: FeatureSpec.numeric("x", center=0.0, scale=1.0, missing="impute"),
            "needs a fill value",
        ),
        (lambda: FeatureSpec.numeric("x", center=float("nan"), scale=1.0), "must be finite"),
        (lambda: FeatureSpec.categorical("k", []), "at least one category"),
        (lambda: FeatureSpec.categorical("k", ["a", "a"]), "unique"),
        (lambda: FeatureSpec.categorical("k", ["a"], missing="impute"), "must be one of"),
        (lambda: FeatureSpec("k", "text"), "type must be one of"),  # type: ignore[arg-type]
        (
            lambda: FeatureSpec.numeric(
                "x",
                center=0.0,
                scale=1.0,
                missing="impute",
                fill=0.0,
                indicator="yes",  # type: ignore[arg-type]
            ),
            "indicator must be true or false",
        ),
    ],
)
def test_feature_spec_rejects_bad_definitions(make: object, message: str) -> None:
    with pytest.raises(ContractError, match=message):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"positive": "1", "negative": "1"}, "distinct"),
        ({"id_column": "default_6m"}, "differ from the label"),
        ({"exclude": ("revenue",)}, "excluded columns"),
        ({"features": ()}, "at least one feature"),
        ({"z_clip": -1.0}, "z_clip must be > 0"),
        ({"exclude": (3,)}, "must be text"),
    ],
)
def test_contract_rejects_inconsistent_roles(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ContractError, match=message):
        _contract(**overrides)


def test_load_names_file_and_problem(tmp_path: Path) -> None:
    bad_toml = tmp_path / "broken.toml"
    bad_toml.write_text("[contract\nlabel = 1\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"broken\.toml is not valid TOML.*line 1"):
        load_contract(bad_toml)

    typo = tmp_path / "typo.toml"
    text = _contract().save(tmp_path / "ok.toml").read_text(encoding="utf-8")
    typo.write_text(text.replace('missing = "impute"', 'mising = "impute"'), encoding="utf-8")
    with pytest.raises(ContractError, match=r"typo\.toml: \[\[features\]\] #1.*'mising'"):
        load_contract(typo)

    with pytest.raises(ContractError, match="does not exist"):
        load_contract(tmp_path / "absent.toml")


def test_failed_save_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x", encoding="utf-8")
    with pytest.raises(OSError):
        _contract().save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_documented_example_loads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "data-contract.md").read_text(
        encoding="utf-8"
    )
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    c = load_contract(path)
    assert c.id_column == "company_id" and c.feature("roa").indicator
    assert c.feature("industry").missing == "category" and c.exclude == ("name", "address")
