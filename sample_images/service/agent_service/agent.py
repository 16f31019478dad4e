"""The agent loop: ask the model, run the tools it calls, stop at an answer or the step limit."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from agent_service.llm import LLMClient
from agent_service.tools import SCHEMAS, TOOLS

SYSTEM_PROMPT = resources.files("agent_service").joinpath("prompts/system.md").read_text(encoding="utf-8")


def run(client: LLMClient, question: str, max_steps: int) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]
    for step in range(max_steps):
        reply = client.chat(messages, SCHEMAS)
        messages.append(reply)
        calls = reply.get("tool_calls") or []
        if not calls:
            return {"answer": reply.get("content", ""), "steps": step + 1}
        for call in calls:
            fn = call["function"]
            try:
                result = TOOLS[fn["name"]](**json.loads(fn.get("arguments") or "{}"))
            except Exception as err:  # the model sees the failure and may try again
                result = f"error: {err}"
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    return {"answer": None, "steps": max_steps, "error": "step limit reached"}
