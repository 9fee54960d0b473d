"""Import into a real Kibana when KIBANA_URL is set (e.g. the compose stack); skipped otherwise."""

from __future__ import annotations

import io
import os

import pytest

from pipeline.kibana import importer

pytestmark = pytest.mark.integration


@pytest.fixture
def kibana_url() -> str:
    url = os.environ.get("KIBANA_URL")
    if not url:
        pytest.skip("set KIBANA_URL (and KIBANA_USER/KIBANA_PASSWORD or KIBANA_API_KEY) to import into a real Kibana")
    return url


def test_import_into_real_kibana_twice(kibana_url: str) -> None:
    auth = {"user": os.environ.get("KIBANA_USER"), "password": os.environ.get("KIBANA_PASSWORD"),
            "api_key": os.environ.get("KIBANA_API_KEY")}
    first = importer.import_dashboards(kibana_url, out=io.StringIO(), timeout=120, **auth)
    assert first["success"] and first["imported"] == first["objects"]
    out = io.StringIO()
    second = importer.import_dashboards(kibana_url, out=out, timeout=120, **auth)
    assert second["imported"] == first["objects"] and "(created)" not in out.getvalue()
