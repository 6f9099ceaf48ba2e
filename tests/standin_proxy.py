"""A stand-in for a LiteLLM proxy that reads its config at "reload" (pytest-httpserver), for tests of
``rinsync compile --reload-cmd`` and the scripts around it without starting the real proxy. The real proxy
runs the same paths in tests/integration/test_apply_proxy.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from werkzeug import Response

from rinsync.litellm.verify import load_model_list


class StandIn:
    """Serves what a LiteLLM proxy started on ``config`` would serve, re-reading it when RELOAD appears."""

    def __init__(self, httpserver, config: Path, directory: Path, key: str):
        self.key = key
        self.config = config
        self.reload_flag = directory / "RELOAD"
        self.broken_flag = directory / "BROKEN"
        self.entries = load_model_list(config) if config.exists() else []
        self.lock = threading.Lock()
        httpserver.expect_request("/v1/models").respond_with_handler(self.models)
        httpserver.expect_request("/model/info").respond_with_handler(self.info)
        self.url = httpserver.url_for("/").rstrip("/")

    def _state(self, request):
        if request.headers.get("Authorization") != f"Bearer {self.key}":
            return Response(json.dumps({"error": {"message": "No connected db."}}), 400,
                            content_type="application/json")
        if self.broken_flag.exists():
            return Response("starting", 503)
        with self.lock:
            if self.reload_flag.exists():
                self.reload_flag.unlink()
                self.entries = load_model_list(self.config)
        return None

    def models(self, request):
        return self._state(request) or Response(json.dumps(
            {"data": [{"id": n} for n in dict.fromkeys(e["model_name"] for e in self.entries)]}),
            content_type="application/json")

    def info(self, request):
        return self._state(request) or Response(json.dumps({"data": [
            {"model_name": e["model_name"], "litellm_params": {"model": e["litellm_params"]["model"]},
             "model_info": e.get("model_info") or {}} for e in self.entries]}), content_type="application/json")

    def served(self) -> list[str]:
        return [e["model_name"] for e in self.entries]
