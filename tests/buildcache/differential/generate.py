"""Write tests/buildcache/corpus/scenarios.jsonl from the seeds and the mutation operators.

python -m tests.buildcache.differential.generate          # rewrite the corpus inputs
python -m tests.buildcache.differential.generate --check  # exit 1 when the committed file is stale
"""

from __future__ import annotations

import json
import sys

__all__ = ["EXCLUDED", "main", "render"]

from tests.buildcache.differential.corpus import SCENARIOS
from tests.buildcache.differential.operators import EXCLUDED, all_scenarios


def render() -> str:
    return "".join(json.dumps(s, sort_keys=True) + "\n" for s in all_scenarios())


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        return 0 if SCENARIOS.exists() and SCENARIOS.read_text() == text else 1
    SCENARIOS.parent.mkdir(parents=True, exist_ok=True)
    SCENARIOS.write_text(text)
    print(f"{SCENARIOS}: {text.count(chr(10))} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
