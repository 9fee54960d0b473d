"""A wheel carries the pattern library and the dashboards (not only an editable checkout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO_ROOT  # type: ignore[import-not-found]


def test_wheel_ships_grok_patterns_and_dashboards(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO_ROOT), "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    data = next(n.split("/data/", 1)[0] for n in names if ".data/data/" in n) + "/data/share/pipeline/"
    for folder in ("grok_patterns/legacy", "grok_patterns/ecs-v1", "dashboards/kibana8", "dashboards/kibana7",
                   "dashboards/specs"):
        for path in (REPO_ROOT / folder).iterdir():
            if path.is_file():
                assert f"{data}{folder}/{path.name}" in names, f"{folder}/{path.name} missing from the wheel"
    assert "pipeline/cli.py" in names
    for static in ("index.html", "app.js", "app.css", "vendor/echarts.min.js", "vendor/ECHARTS-LICENSE.txt"):
        assert f"pipeline/ui/static/{static}" in names, f"the ui page file {static} is missing from the wheel"
    for data_file in ("logstash_plugins.txt", "logstash_options/filter-grok.txt", "logstash_options/input-beats.txt"):
        assert f"pipeline/compat/{data_file}" in names, f"compat data {data_file} is missing from the wheel"
