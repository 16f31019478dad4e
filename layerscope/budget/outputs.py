"""A check's results as text, JSON, JUnit XML, GitHub annotations and a Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from layerscope.budget.verdict import Result
from layerscope.model import Analysis
from layerscope.textsafe import gh_message, gh_property, md_code, md_text, xml_text
from layerscope.units import fmt_size

SCHEMA = "layerscope.check/1"
_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return list(v)
    return v


def document(results: list[Result]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "passed": not any(r.status == "fail" for r in results),
        "results": [
            {
                "image": r.image,
                "rule": r.rule,
                "limit": _jsonable(r.limit),
                "actual": _jsonable(r.actual),
                "status": r.status,
                "message": r.message,
                "source": r.source,
            }
            for r in results
        ],
    }


def text(results: list[Result], refs: dict[str, str]) -> list[str]:
    lines = []
    for image in dict.fromkeys(r.image for r in results):
        lines.append(f"{image}: {refs.get(image, '')}".rstrip(": "))
        for r in (x for x in results if x.image == image):
            lines.append(f"  {_MARK[r.status]}  {r.rule}: {r.message}")
    counts = {s: sum(1 for r in results if r.status == s) for s in _MARK}
    verdict = "FAIL" if counts["fail"] else "PASS"
    lines.append(
        f"{verdict}: {counts['pass']} passed, {counts['fail']} failed, "
        f"{counts['warn']} warned, {counts['skip']} skipped"
    )
    return lines


def junit(results: list[Result]) -> bytes:
    """JUnit XML; image text escaped (textsafe), so no character XML forbids reaches it."""
    suites = ET.Element("testsuites", name="layerscope check")
    for image in dict.fromkeys(r.image for r in results):
        mine = [r for r in results if r.image == image]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=xml_text(image),
            tests=str(len(mine)),
            failures=str(sum(1 for r in mine if r.status == "fail")),
            errors="0",
            skipped=str(sum(1 for r in mine if r.status == "skip")),
        )
        for r in mine:
            message = xml_text(r.message)
            case = ET.SubElement(suite, "testcase", classname=xml_text(f"layerscope.{image}"), name=xml_text(r.rule))
            if r.status == "fail":
                ET.SubElement(case, "failure", message=message, type="budget").text = message
            elif r.status == "skip":
                ET.SubElement(case, "skipped", message=message)
            elif r.status == "warn":
                ET.SubElement(case, "system-out").text = f"WARNING: {message}"
    suites.set("tests", str(len(results)))
    suites.set("failures", str(sum(1 for r in results if r.status == "fail")))
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True))


def github_annotations(results: list[Result]) -> list[str]:
    """Workflow commands, one line each: image text escaped, then GitHub's %-escapes."""
    out = []
    for r in results:
        if r.status in ("fail", "warn"):
            kind = "error" if r.status == "fail" else "warning"
            title = gh_property(f"layerscope {r.image} {r.rule}")
            out.append(f"::{kind} title={title}::{gh_message(r.message)}")
    return out


def markdown(results: list[Result], analyses: dict[str, Analysis], top: int = 5) -> str:
    """A PR comment / job summary: names, paths and commands as code spans, messages with
    Markdown's punctuation backslashed (textsafe), so image text stays text."""
    failed = any(r.status == "fail" for r in results)
    lines = [f"## layerscope check: {'❌ budget exceeded' if failed else '✅ within budget'}", ""]
    for image, a in analyses.items():
        t = a.totals
        lines += [
            f"### {md_text(image)} — {md_code(a.image.reference)}",
            "",
            f"Uncompressed {fmt_size(t.size)}, compressed {fmt_size(t.compressed_size)}, "
            f"{len(a.image.layers)} layers, wasted {fmt_size(t.wasted_bytes)}",
            "",
            "| Status | Rule | Result |",
            "|---|---|---|",
        ]
        for r in (x for x in results if x.image == image):
            lines.append(f"| {_MARK[r.status]} | {md_code(r.rule)} | {md_text(r.message)} |")
        sized = sorted((x for x in a.image.layers if x.size is not None), key=lambda x: -(x.size or 0))[:top]
        if sized:
            lines += ["", "**Largest layers**", "", "| # | Size | Created by |", "|---|---|---|"]
            for x in sized:
                cb = (x.created_by or "-")[:80]
                lines.append(f"| {x.index} | {fmt_size(x.size)} | {md_code(cb)} |")
        if a.waste:
            lines += [
                "",
                "**Largest hidden (wasted) paths**",
                "",
                "| Bytes | Path | Added / hidden by |",
                "|---|---|---|",
            ]
            for w in a.waste[:top]:
                lines.append(
                    f"| {fmt_size(w.bytes)} | {md_code('/' + w.path)} | {w.layer} / {w.hidden_by} ({w.reason}) |"
                )
        pkgs = getattr(a, "packages", None)
        if pkgs is not None:
            biggest = sorted(pkgs.packages, key=lambda p: -p.size)[:top]
            if biggest:
                lines += ["", "**Largest packages**", "", "| Package | Version | Size |", "|---|---|---|"]
                lines += [
                    f"| {md_code(f'{p.ecosystem}:{p.name}')} | {md_code(p.version)} | {fmt_size(p.size)} |"
                    for p in biggest
                ]
        lines.append("")
    return "\n".join(lines)
