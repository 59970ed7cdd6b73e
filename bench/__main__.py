"""Run every benchmark script under bench/ in turn: `python -m bench [NAME ...]`.

Each script is a module with a ``main(argv) -> int``; figures are printed as medians
and, where a reference server is involved, as ratios.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    status = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"== bench/{name}.py", flush=True)
        try:
            status |= int(entry([]) or 0)
        except Exception as exc:  # a failing benchmark must not hide the others
            print(f"bench/{name}.py failed: {exc!r}", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
