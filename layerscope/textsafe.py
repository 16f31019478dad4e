"""Image text is data: the one place that makes it safe to show.

File names, history, tags, labels and package metadata come from whoever built the image.
Shown raw, an ESC sequence clears the screen or fakes a green verdict, OSC 8/52 makes links
or writes the clipboard, `\\r` overwrites a line, a bidi override reorders what is read, and
bytes that are not UTF-8 cannot even be written to a UTF-8 stream. `visible()` turns every
such character into a visible escape; the other functions build each output's own escaping
(CI log lines, Markdown, GitHub workflow commands, XML, HTML, JSON) on top of it.

The escaped form, the same everywhere and close to Python's repr() (documented in
docs/contract-extensions.md). Escaped: Unicode's controls, format characters (bidi controls,
zero-width characters, BOM, tags), surrogates, private-use and unassigned code points, and
the line and paragraph separators (categories Cc, Cf, Cs, Co, Cn, Zl, Zp):

* `\\n`, `\\r`, `\\t`, and `\\xHH` for the other C0 controls and DEL (`\\x1b`);
* `\\xHH` for a byte of a name that is not UTF-8 (read with surrogateescape: `\\xe9`);
* `\\uHHHH` for the others in the BMP (`\\u009b` for C1's CSI, `\\u202e`), `\\UHHHHHHHH`
  beyond it (`\\U000e0041`, a tag character).

Everything else is left as it is, backslashes included: `printf 'a\\nb'` in a RUN line reads
unchanged, and escaping is idempotent (a message that quotes a name with repr() reads the same
as one that shows it escaped). A name that literally holds backslash-x-1-b therefore shows like
one holding ESC; `--json` tells them apart (it is exact).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from typing import Any

# What a terminal, a log viewer or a reader would act on or not show: Unicode's controls (Cc:
# C0, DEL, C1), format characters (Cf: bidi controls, zero-width characters, BOM, tags),
# surrogates (Cs: bytes that were not UTF-8), private-use and unassigned code points (Co, Cn)
# and the line and paragraph separators (Zl, Zp). Spaces (Zs) are shown as they are.
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
_NOT_ASCII_TEXT = re.compile("[^\x20-\x7e]")  # the characters to look at one by one
_JSON_NON_ASCII = re.compile("[^\x00-\x7e]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hidden(ch: str) -> bool:
    """Whether a character is one visible() escapes."""
    return not ch.isprintable() and unicodedata.category(ch) in _HIDDEN


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    n = ord(ch)
    if n < 0x80:
        return f"\\x{n:02x}"
    if 0xDC80 <= n <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{n - 0xDC00:02x}"
    if n > 0xFFFF:
        return f"\\U{n:08x}"
    return f"\\u{n:04x}"


def _visible_char(m: re.Match[str]) -> str:
    ch = m.group()
    return _escape(ch) if hidden(ch) else ch


def visible(text: str) -> str:
    """`text` with every control, invisible or undecodable character as a visible escape."""
    if text.isprintable():  # the common case: nothing to escape (isprintable is stricter)
        return text
    return _NOT_ASCII_TEXT.sub(_visible_char, text)


def _json_char(m: re.Match[str]) -> str:
    ch = m.group()
    if not hidden(ch):
        return ch
    n = ord(ch)
    if n > 0xFFFF:
        n -= 0x10000
        return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"
    return f"\\u{n:04x}"


def json_dumps(doc: Any, indent: int | None = 2) -> str:
    """JSON that keeps every string exact and is valid UTF-8 and safe on a terminal.

    Non-ASCII text stays readable (ensure_ascii=False), but what a terminal would act on (DEL,
    C1, bidi controls, ...) and the lone surrogates that stand for bytes of a name that is not
    UTF-8 are written as \\uXXXX escapes: a JSON reader gets the exact same string back (in
    Python, `name.encode("utf-8", "surrogateescape")` gives the original bytes). Nor does a CI
    runner find a command of its own in it.
    """
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    # json.dumps escapes C0 itself: what is left is DEL and beyond (raw \n there is indentation)
    if not text.isascii() or "\x7f" in text:
        text = _JSON_NON_ASCII.sub(_json_char, text)
    # JSON printed into a CI log is read by its runner too: a `##[` can only stand inside a
    # string here (a `#` is never JSON syntax), so its `[` is written \u005b (see log_text).
    return _disarm_anywhere(text, "\\u005b") if "#" in text and "[" in text else text


# -- Markdown (GitHub-flavoured) -----------------------------------------------------------

# What makes inline Markdown out of text: code, emphasis, links and images, HTML, entities,
# table cells, strikethrough, mentions, and (`:`, `www.`) GitHub's autolinks and :emoji: codes.
_MD_PUNCT = re.compile(r"([\\`*_\[\]<>!|~&@:])|(?<=www)(\.)", re.IGNORECASE)


def md_text(text: str) -> str:
    """Plain text in Markdown (a table cell, a heading): escaped, and every character that
    would make inline Markdown of it backslashed, so image text stays text."""
    return _MD_PUNCT.sub(lambda m: "\\" + m.group(), visible(text))


def md_code(text: str) -> str:
    """Text as an inline code span: as it is, whatever backticks it holds; `|` escaped so a
    table cell does not end inside it (GitHub reads `\\|` in a table cell's code as `|`)."""
    body = visible(text).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


# -- CI logs ---------------------------------------------------------------------------------

# A CI runner reads every line a step writes, stdout and stderr alike, for commands of its own.
# GitHub's runner (actions/runner, ActionCommand.cs) takes `::name ...::data` at the start of a
# line after leading blanks (TryParseV2), and the legacy `##[name ...]data` anywhere in a line
# (TryParse): `##[stop-commands]TOKEN` in a file name would switch off every annotation after it.
# Azure Pipelines' agent takes `##vso[area.event ...]` anywhere in a line (task.setvariable).
# Both runners match with .NET's culture-sensitive IndexOf/StartsWith, which may skip what
# collation ignores: a combining mark or variation selector (`#\ufe0f#[`) must not hide a
# prefix. visible() has escaped controls and format characters; what is left of that kind is
# skipped here too (over-escaping a rare name is harmless, missing a command is not).
_ANYWHERE_COMMAND = re.compile(r"##(vso)?\[", re.IGNORECASE)
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers: letters that show nothing


def _skipped(ch: str) -> bool:
    """A character a culture-sensitive match may step over (after visible())."""
    return ch in _FILLERS or (not ch.isascii() and unicodedata.category(ch) in ("Mn", "Me"))


def _disarm_anywhere(text: str, bracket: str = "\\x5b") -> str:
    if text.isascii():
        return _ANYWHERE_COMMAND.sub(lambda m: m.group()[:-1] + bracket, text)
    kept = [i for i, ch in enumerate(text) if not _skipped(ch)]
    skeleton = "".join(text[i] for i in kept)
    brackets = {kept[m.end() - 1] for m in _ANYWHERE_COMMAND.finditer(skeleton)}
    return "".join(bracket if i in brackets else ch for i, ch in enumerate(text)) if brackets else text


def log_text(text: str) -> str:
    """Text inside a line of the CLI's stdout or stderr: visible(), and the `[` of the command
    prefixes runners find anywhere in a line (`##[`, `##vso[`) as `\\x5b`, so none reads one."""
    text = visible(text)
    return _disarm_anywhere(text) if "#" in text and "[" in text else text


def log_line(line: str) -> str:
    """A whole line of the CLI's stdout or stderr: log_text(), and a `::` it starts with (after
    blanks) as `\\x3a:`. The workflow commands layerscope means to print go out through
    log_text() alone (cli/common.py: emit_command)."""
    text = log_text(line)
    first = next((i for i, ch in enumerate(text) if not (ch.isspace() or _skipped(ch))), len(text))
    if text[first : first + 1] != ":":
        return text
    second = next((i for i in range(first + 1, len(text)) if not _skipped(text[i])), len(text))
    return text[:first] + "\\x3a" + text[first + 1 :] if text[second : second + 1] == ":" else text


# -- GitHub Actions workflow commands ------------------------------------------------------


def gh_message(text: str) -> str:
    """A workflow command's message: escaped (log_text), then GitHub's own %-escapes for %, \\r, \\n."""
    return log_text(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def gh_property(text: str) -> str:
    """A workflow command property value (title=...): also `:` and `,` %-escaped."""
    return gh_message(text).replace(":", "%3A").replace(",", "%2C")


# -- XML -----------------------------------------------------------------------------------


def xml_text(text: str) -> str:
    """Text for an XML attribute or element: escaped, so that no character XML 1.0 forbids
    (C0 controls, lone surrogates) is left; ElementTree does the &<>" escaping."""
    return visible(text)


# -- HTML ----------------------------------------------------------------------------------


def html_text(text: str) -> str:
    """Text in HTML (element or quoted attribute): escaped, then &<>"' as entities."""
    return html.escape(visible(text))


def html_lines(text: str) -> str:
    """Multi-line text for a <pre>: each line as html_text, the line ends kept."""
    return "\n".join(html_text(line) for line in text.split("\n"))
