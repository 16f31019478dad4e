"""Chat-completions client: one pooled session, retries on 429 and 5xx."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from agent_service.config import Settings


class LLMClient:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session = requests.Session()
        retry = Retry(total=4, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None)
        self._session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=8))
        self._session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=8))
        if settings.api_key:
            self._session.headers["Authorization"] = f"Bearer {settings.api_key}"

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"model": self._settings.llm_model, "messages": messages, "tools": tools, "temperature": 0}
        resp = self._session.post(self._settings.llm_url, json=body, timeout=(3.05, 60))
        resp.raise_for_status()
        message: dict[str, Any] = resp.json()["choices"][0]["message"]
        return message
