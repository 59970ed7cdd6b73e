"""Benchmark (issue 15): 1,000 simulated power cuts under SMTP, IMAP APPEND, POP3
DELE+QUIT and IMAP EXPUNGE, with the server's data on powerfs (every unsynced write
dropped at each cut; see ``postoffice.testing.powerfs`` and ``postoffice.testing.powercut``).

Prints the acknowledged operations and the counts that must be 0: acknowledged
messages lost, messages duplicated, acknowledged deletions undone, and failures (the
database failed its integrity check, or the server or the mailbox did not come back).
Needs root, /dev/fuse and fusermount3 (Debian fuse3).
Usage: ``.venv/bin/python bench/powercut.py [--cuts 1000] [--seed 1] [--quiet]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from postoffice.testing.powercut import run_power_cuts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quiet", action="store_true", help="no line per cut")
    args = parser.parse_args(argv)
    start = time.monotonic()

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"{time.monotonic() - start:7.1f}s {line}", flush=True)

    with tempfile.TemporaryDirectory(prefix="powercut-") as tmp:
        result = run_power_cuts(Path(tmp), args.cuts, args.seed, progress=progress)
    print(f"seed {args.seed}: {result.cuts} cuts in {time.monotonic() - start:.0f} s")
    print("acknowledged: " + ", ".join(f"{op} {n}" for op, n in sorted(result.acknowledged.items())))
    print(f"lost {len(result.lost)}  duplicated {len(result.duplicated)}  undone {len(result.undone)}  "
          f"strange {len(result.strange)}  failures {len(result.failures)}")  # fmt: skip
    for name in ("lost", "duplicated", "undone", "strange", "failures"):
        for line in getattr(result, name)[:20]:
            print(f"  {name}: {line}")
    print(result.log[-1])
    # a cut under way when the count is reached still completes: a few more than asked is a full run
    return 0 if result.ok and result.cuts >= args.cuts else 1


if __name__ == "__main__":
    raise SystemExit(main())
