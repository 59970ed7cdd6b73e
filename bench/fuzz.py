"""Fuzzing, the long run (issue 15): the fuzz tests of ``make test`` with a budget many
times larger.

- ``tests/wire/test_parsers_fuzz.py``, ``tests/wire/imap/test_imap_fuzz.py`` and
  ``tests/message/test_msg_fuzz.py``: every parser, ``--examples`` Hypothesis examples
  per test (``make test``: 60 for the first file);
- ``tests/protocols/test_wire_fuzz.py``: ``--lines`` mutated command lines per protocol
  against a running server (``make test``: 300), for each of ``--seeds`` seeds.

Prints each part's result and time; exit status 1 if anything failed (a failure is a
crash to turn into a test). Usage: ``.venv/bin/python bench/fuzz.py [--examples 5000]
[--lines 20000] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARSER_TESTS = ["tests/wire/test_parsers_fuzz.py", "tests/wire/imap/test_imap_fuzz.py", "tests/message/test_msg_fuzz.py"]
WIRE_TEST = "tests/protocols/test_wire_fuzz.py::test_mutated_commands_get_protocol_answers_and_the_server_lives_on"


def pytest(tests: list[str], env: dict[str, str]) -> tuple[bool, str, float]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "--timeout=0",
         *tests],
        cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    summary = lines[-1] if lines else done.stderr.strip()[-500:]
    if done.returncode != 0:
        failures = [line for line in lines if line.startswith(("FAILED", "E  "))]
        summary += "\n  " + "\n  ".join(failures[:40])
    return done.returncode == 0, summary, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=5000, help="Hypothesis examples per parser test")
    parser.add_argument("--lines", type=int, default=20000, help="mutated lines per protocol and seed")
    parser.add_argument("--seeds", type=int, default=3, help="wire runs, seeds 1..N")
    args = parser.parse_args(argv)
    ok_all = True
    ok, summary, took = pytest(PARSER_TESTS, {"POSTOFFICE_FUZZ_EXAMPLES": str(args.examples)})
    print(f"parsers, {args.examples} examples per test ({took:.0f} s): {summary}", flush=True)
    ok_all &= ok
    for seed in range(1, args.seeds + 1):
        env = {"POSTOFFICE_FUZZ_LINES": str(args.lines), "POSTOFFICE_FUZZ_SEED": str(seed)}
        ok, summary, took = pytest([WIRE_TEST], env)
        print(f"wire, seed {seed}, {args.lines} lines per protocol ({took:.0f} s): {summary}", flush=True)
        ok_all &= ok
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
