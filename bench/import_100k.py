"""Benchmark: import a 100,000-message Maildir with ``postoffice import``; its peak RSS.

Run: ``.venv/bin/python bench/import_100k.py [--messages N] [--dir /var/tmp]``.
Generates the Maildir (small messages, as bench/import_10k.py), runs ``postoffice
import`` as a child process and prints messages/s and the child's peak resident set
size (``ru_maxrss`` of the waited-for child). Target (issue 15): under 200 MB.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._servers import VENV_BIN  # noqa: E402
from bench.import_10k import generate  # noqa: E402

TARGET_MB = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--dir", default=None, help="where the temporary data dir goes")
    args = parser.parse_args(argv)
    count = args.messages
    exe = str(VENV_BIN / "postoffice")
    with tempfile.TemporaryDirectory(prefix="import-100k-", dir=args.dir) as tmp:
        base = Path(tmp)
        config = base / "postoffice.toml"
        config.write_text(f'data_dir = "{base / "data"}"\ndomains = ["example.test"]\n[listen]\n')
        t0 = time.perf_counter()
        generate(base / "Maildir", count)
        print(f"generated {count} messages in {time.perf_counter() - t0:.1f} s", flush=True)
        subprocess.run([exe, "--config", str(config), "user", "add", "bench@example.test", "--password-stdin"],
                       input=b"pw\n", check=True, capture_output=True)  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        done = subprocess.run(
            [exe, "--config", str(config), "import", str(base / "Maildir"), "--user", "bench@example.test"],
            capture_output=True,
        )
        elapsed = time.perf_counter() - t0
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(done.stdout.decode(errors="replace").strip().splitlines()[-1] if done.stdout.strip() else "")
        if done.returncode != 0:
            print(done.stderr.decode(errors="replace")[-2000:])
            return 1
        print(f"import: {count} messages in {elapsed:.1f} s = {count / elapsed:.0f} messages/s")
        if peak_kib <= before:
            print("peak RSS: not measured (an earlier child was bigger)")
            return 1
        peak_mb = peak_kib * 1024 / 1e6
        print(f"import peak RSS: {peak_mb:.0f} MB (target < {TARGET_MB} MB)")
        return 0 if peak_mb < TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
