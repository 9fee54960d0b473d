"""The NDJSON shipped in dashboards/ must be exactly what the specs generate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.kibana import ndjson, specs
from pipeline.kibana.targets import TARGETS, Target

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "dashboards" / "specs"


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS)
def test_shipped_ndjson_matches_the_specs(target: Target) -> None:
    shipped = REPO / "dashboards" / target.name
    dashboards = specs.load_dir(SPECS)
    expected = {ndjson.file_name(d): ndjson.render(d, target) for d in dashboards}
    actual = {p.name: p.read_text(encoding="utf-8") for p in shipped.glob("*.ndjson")}
    assert sorted(actual) == sorted(expected), "run: pipeline dashboards build --target all"
    for name, text in expected.items():
        assert actual[name] == text, f"{shipped / name} drifted from its spec: pipeline dashboards build --target all"


def test_shipped_ndjson_is_marked_generated_and_parses() -> None:
    for path in sorted((REPO / "dashboards").glob("kibana*/*.ndjson")):
        lines = path.read_text(encoding="utf-8").splitlines()
        assert ndjson.GENERATED_KEY in lines[-1] and "do not edit" in lines[-1]
        objects = ndjson.loads("\n".join(lines), str(path))
        assert len(objects) == len(lines) - 1 and objects[-1]["type"] == "dashboard"


def test_build_then_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "dashboards"
    assert cli.main(["dashboards", "build", "--target", "all", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "kibana7").iterdir()) == sorted(
        ndjson.file_name(d) for d in specs.load_dir(SPECS))
    assert cli.main(["dashboards", "check", "--dir", str(out)]) == 0
    assert "up to date" in capsys.readouterr().out

    edited = out / "kibana8" / "overview.ndjson"
    edited.write_text(edited.read_text().replace("[Logs] Overview", "[Logs] Hand-edited"))
    (out / "kibana7" / "errors.ndjson").unlink()
    assert cli.main(["dashboards", "check", "--dir", str(out)]) == 1
    err = capsys.readouterr().err
    assert "overview.ndjson: differs from spec" in err and "errors.ndjson: missing" in err


def test_build_rejects_an_invalid_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_dir = tmp_path / "specs"
    shutil.copytree(SPECS, spec_dir)
    path = spec_dir / "overview.yml"
    path.write_text(path.read_text().replace("field: host.name", "field: message"))
    assert cli.main(["dashboards", "build", "--specs", str(spec_dir), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "overview.yml:" in err and "'message' is text" in err
    assert not (tmp_path / "out").exists()
