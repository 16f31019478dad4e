"""A check's results as text, JSON, JUnit XML, GitHub annotations and a Markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from layerscope.analysis.exposure import describe, finding_json
from layerscope.budget.verdict import Result
from layerscope.model import Analysis, Finding, layers_stored_word
from layerscope.textsafe import gh_message, gh_property, md_code, md_text, xml_text
from layerscope.units import fmt_size

SCHEMA = "layerscope.check/1"
_MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
MAX_LISTED = 50  # findings listed per rule in text, JUnit and Markdown (JSON has them all)
MAX_ANNOTATIONS = 20  # per rule: GitHub shows only the first few of a step's annotations anyway


def _listed(findings: tuple[Finding, ...], limit: int = MAX_LISTED) -> list[str]:
    lines = [describe(f) for f in findings[:limit]]
    if len(findings) > limit:
        lines.append(f"… {len(findings) - limit} more (check --json lists every one)")
    return lines


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
                "findings": [finding_json(f) for f in r.findings],
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
            lines += [f"          {line}" for line in _listed(r.findings)]
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
            body = "\n".join([message, *(xml_text(line) for line in _listed(r.findings))])
            if r.status == "fail":
                ET.SubElement(case, "failure", message=message, type="budget").text = body
            elif r.status == "skip":
                ET.SubElement(case, "skipped", message=message)
            elif r.status == "warn":
                ET.SubElement(case, "system-out").text = f"WARNING: {body}"
    suites.set("tests", str(len(results)))
    suites.set("failures", str(sum(1 for r in results if r.status == "fail")))
    return bytes(ET.tostring(suites, encoding="utf-8", xml_declaration=True))


def github_annotations(results: list[Result]) -> list[str]:
    """Workflow commands, one line each: image text escaped, then GitHub's %-escapes."""
    out = []
    for r in results:
        if r.status not in ("fail", "warn"):
            continue
        kind = "error" if r.status == "fail" else "warning"
        title = gh_property(f"layerscope {r.image} {r.rule}")
        if not r.findings:
            out.append(f"::{kind} title={title}::{gh_message(r.message)}")
            continue
        for f in r.findings[:MAX_ANNOTATIONS]:  # one per finding: each is something to remove
            out.append(f"::{kind} title={title}::{gh_message(describe(f))}")
        if len(r.findings) > MAX_ANNOTATIONS:
            rest = len(r.findings) - MAX_ANNOTATIONS
            out.append(f"::{kind} title={title}::{rest} more (see the job summary or check --json)")
    return out


def _finding_row(f: Finding) -> str:
    if f.kind in ("path", "file"):
        where = md_text("/" + (f.path or ""))
        found = md_text(f"glob {f.detector}" if f.kind == "path" else f.detector)
    else:
        where = md_text(
            f"config Env {f.name}" if f.kind == "env" else f"history #{f.history_index} {f.name or ''}".strip()
        )
        found = md_text("secret-looking name set to a literal" if f.detector == "secret-name" else f.detector)
    layer = "" if f.layer is None else str(f.layer)
    hidden = ""
    if f.hidden is not None:
        hidden = "no" if not f.hidden else "yes" if f.hidden_by is None else f"yes (layer {f.hidden_by})"
    return f"| {where} | {found} | {layer} | {hidden} |"


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
            f"Uncompressed {fmt_size(t.size)}, {layers_stored_word(a.image.layers)} {fmt_size(t.compressed_size)}, "
            f"{len(a.image.layers)} layers, wasted {fmt_size(t.wasted_bytes)}",
            "",
            "| Status | Rule | Result |",
            "|---|---|---|",
        ]
        for r in (x for x in results if x.image == image):
            lines.append(f"| {_MARK[r.status]} | {md_code(r.rule)} | {md_text(r.message)} |")
        for r in (x for x in results if x.image == image and x.findings):
            lines += [
                "",
                f"**{_MARK[r.status]} {md_code(r.rule)}**",
                "",
                "| Where | Found | Layer | Hidden by a later layer |",
            ]
            lines.append("|---|---|---|---|")
            for f in r.findings[:MAX_LISTED]:
                lines.append(_finding_row(f))
            if len(r.findings) > MAX_LISTED:
                lines.append(f"| … {len(r.findings) - MAX_LISTED} more | | | |")
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
