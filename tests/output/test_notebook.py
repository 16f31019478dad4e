"""The results' methods reach their renderers through renderhooks: every registered name
is a renderer, and `import layerscope` loads neither pandas nor the renderer modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from layerscope import renderhooks
from layerscope.output import frames, html, json, notebook


def test_every_registered_name_is_a_renderer() -> None:
    for names, module in ((notebook.FRAMES, frames), (notebook.HTML, html), (notebook.DOCUMENTS, json)):
        for name in names:
            assert callable(getattr(module, name)), name


def test_import_layerscope_registers_without_loading_renderers() -> None:
    code = (
        "import sys, layerscope\n"
        "from layerscope import renderhooks\n"
        "print(sorted(renderhooks._FRAMES) == sorted(" + repr(list(notebook.FRAMES)) + "),"
        " [m for m in ('pandas', 'layerscope.output.frames', 'layerscope.output.html', 'layerscope.output.json')"
        " if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True []"


def test_an_unregistered_name_says_so() -> None:
    with pytest.raises(RuntimeError, match="no no_such_df renderer registered"):
        renderhooks.frame("no_such_df")
