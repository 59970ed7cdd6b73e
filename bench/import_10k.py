"""Benchmark: import a 10,000-message Maildir through the command-line code path.

Run: ``.venv/bin/python bench/import_10k.py [--messages N]``. Prints messages/s of
the first import and checks that a second import of the same tree adds nothing.
Target (docs of ``postoffice import``): >= 500 messages/s for small messages.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from postoffice.cli import main as cli_main  # noqa: E402


def generate(root: Path, count: int) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    flags = ["", "S", "RS", "FS", "T"]
    for n in range(count):
        body = (
            f"From: Sender {n % 97} <s{n % 97}@example.org>\nTo: bench@example.test\n"
            f"Subject: benchmark message {n}\nMessage-ID: <bench-{n}@example.org>\n"
            f"Date: Mon, 12 Feb 2024 10:00:00 +0000\n\n"
            + f"Line {n} of a small message body, as mailing lists send them.\n" * 20
        ).encode()
        info = flags[n % len(flags)]
        name = f"{1700000000 + n}.M{n}P1.bench:2,{info}"
        path = root / "cur" / name
        path.write_bytes(body)
        os.utime(path, (1700000000 + n, 1700000000 + n))


def run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            code = cli_main(argv)
    finally:
        sys.stdin = old_stdin
    return code, out.getvalue()


def bench(count: int) -> int:
    with tempfile.TemporaryDirectory(prefix="postoffice-bench-") as tmp:
        base = Path(tmp)
        config = base / "postoffice.toml"
        config.write_text(f'data_dir = "{base / "data"}"\ndomains = ["example.test"]\n[listen]\n')
        cfg = ["--config", str(config)]
        t0 = time.perf_counter()
        generate(base / "Maildir", count)
        print(f"generated {count} messages in {time.perf_counter() - t0:.1f} s")
        code, _ = run([*cfg, "user", "add", "bench@example.test", "--password-stdin"], "pw\n")
        assert code == 0, "user add failed"
        t0 = time.perf_counter()
        code, out = run([*cfg, "import", str(base / "Maildir"), "--user", "bench@example.test"])
        elapsed = time.perf_counter() - t0
        print(out.strip())
        assert code == 0, "import failed"
        print(f"import: {count} messages in {elapsed:.2f} s = {count / elapsed:.0f} messages/s")
        t0 = time.perf_counter()
        code, out = run([*cfg, "import", str(base / "Maildir"), "--user", "bench@example.test"])
        elapsed = time.perf_counter() - t0
        print(out.strip())
        assert code == 0 and out.startswith("imported 0,"), "second import added messages"
        print(f"re-import (all skipped): {elapsed:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    return bench(parser.parse_args(argv).messages)


if __name__ == "__main__":
    raise SystemExit(main())
