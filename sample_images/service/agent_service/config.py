"""Settings from the environment, read once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    llm_url: str
    llm_model: str
    api_key: str
    max_steps: int
    port: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            llm_url=os.environ.get("LLM_URL", "http://llm-gateway:8000/v1/chat/completions"),
            llm_model=os.environ.get("LLM_MODEL", "small-instruct"),
            api_key=os.environ.get("LLM_API_KEY", ""),
            max_steps=int(os.environ.get("AGENT_MAX_STEPS", "6")),
            port=int(os.environ.get("PORT", "8080")),
        )
