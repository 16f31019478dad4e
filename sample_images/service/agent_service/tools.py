"""Tools the model may call. Each returns plain text for the next turn."""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

_OPS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
}


def calculator(expression: str) -> str:
    """Arithmetic only: the expression is parsed, never evaluated as code."""

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        raise ValueError("unsupported expression")

    return str(ev(ast.parse(expression, mode="eval").body))


def fetch_url(url: str) -> str:
    """First 4 kB of a web page's text."""
    resp = requests.get(url, timeout=10, headers={"User-Agent": "agent-service/0.3"})
    resp.raise_for_status()
    return resp.text[:4096]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


TOOLS: dict[str, Callable[..., str]] = {"calculator": calculator, "fetch_url": fetch_url, "utc_now": utc_now}

SCHEMAS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "fetch_url",
            "description": "Fetch a web page and return the start of its text.",
            "parameters": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
        },
    },
    {
        "type": "function",
        "function": {"name": "utc_now", "description": "Current UTC time.", "parameters": {"type": "object"}},
    },
]
