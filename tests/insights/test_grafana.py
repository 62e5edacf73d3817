"""docs/grafana-dashboard.json imports (the shape Grafana's importer needs) and every query
names a gauge `export_gauges` really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.insights.metrics import PREFIX, compute

DOC = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def test_dashboard_json_is_importable_and_uses_exported_names() -> None:
    doc = json.loads(DOC.read_text())
    assert doc["__inputs"][0]["pluginId"] == "prometheus" and doc["uid"] and doc["title"]
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    exported = {PREFIX + m.name for m in compute(()).items}
    queried = {
        name
        for panel in doc["panels"]
        for target in panel.get("targets", [])
        for name in re.findall(r"release_train_[a-z_]+", target["expr"])
    }
    assert queried and queried <= exported, queried - exported
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
