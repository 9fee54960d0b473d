"""docs/alerts.md carries the rule and alerter tables generated from the declarations."""

from __future__ import annotations

from pathlib import Path

from pipeline.alerts import alerters, types
from pipeline.alerts.reference import alerter_reference, rule_reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "alerts.md"


def test_reference_tables_match_the_declarations():
    text = DOC.read_text(encoding="utf-8")
    assert rule_reference() in text, "regenerate the rule tables: python -m pipeline.alerts.reference"
    assert alerter_reference() in text, "regenerate the alerter tables: python -m pipeline.alerts.reference"


def test_every_rule_type_and_alerter_is_documented():
    text = DOC.read_text(encoding="utf-8")
    assert len(types.available()) == 11 and len(alerters.available()) == 10
    for name in types.available() + alerters.available():
        assert f"### `{name}`" in text
