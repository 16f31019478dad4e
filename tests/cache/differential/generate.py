"""Write tests/cache/corpus/scenarios.jsonl from the seeds and the mutation operators.

python -m tests.cache.differential.generate          # rewrite the corpus inputs
python -m tests.cache.differential.generate --check  # exit 1 when the committed file is stale
"""

from __future__ import annotations

import json
import sys

__all__ = ["EXCLUDED", "main", "render"]

from tests.cache.differential.corpus import SCENARIOS
from tests.cache.differential.operators import EXCLUDED, all_scenarios


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
