"""METRICS_PORT without METRICS_TOKEN: `/metrics` on that port alone, never on the API's."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.server.processes import command_env, serving
from tests.services import free_port


def test_metrics_are_served_on_their_own_port_only(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    env = command_env(tmp_path / "data", SECRET_KEY="p" * 40, METRICS_PORT=str(metrics_port))
    with serving(env, tmp_path, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
            assert reply.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as reply:
            text = reply.read().decode()
        names = {family.name for family in text_string_to_metric_families(text)}
        assert {"expense_tracker_http_requests", "expense_tracker_websockets_open"} <= names
        assert 'route="/healthz"' in text
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10)
            raise AssertionError("the API port served /metrics")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
