"""Remove each fsync of the code, one at a time, and run the power-cut suite: each
removal must be caught (issue 15).

For each site below, a copy of the ``postoffice`` package is made in a temporary
directory with that one call removed (or that one SQLite ``synchronous`` setting
weakened), and ``postoffice.testing.powercut`` runs the same cuts as
tests/durability/test_powercut.py (same seed, same number of cuts) against a server
started from the copy (``python -m postoffice`` with PYTHONPATH on the copy). A site
is *caught* when the run reports a lost or duplicated message, an undone deletion, a
failed integrity check, or a server that does not come back. Sites the suite cannot
reach are listed with the reason instead of a run.

Usage: ``.venv/bin/python bench/fsync_mutations.py [--cuts 50] [--seed 1515] [--only NAME ...]
[--baseline]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from postoffice.testing.powercut import run_power_cuts

PACKAGE = Path(__file__).resolve().parent.parent / "postoffice"
REPO = PACKAGE.parent
TEST = "tests/durability/test_powercut.py::test_power_cuts_lose_nothing_acknowledged"
BLOB_TEST = "tests/durability/test_blob_durability.py"
IMPORT_TEST = "tests/durability/test_import_powercut.py"


@dataclass(frozen=True)
class Site:
    name: str
    file: str  # relative to the package
    old: str  # must occur exactly once
    new: str
    what: str
    # What may catch it, tried in turn: "suite" (the power-cut suite) or a test file.
    checks: tuple[str, ...] = ("suite",)


SITES = [
    Site(
        "blob-file-fsync", "store/blobs.py",
        "                if self._batch is None:\n                    store.fsync(self._file.fileno())\n",
        "                if self._batch is None:\n                    pass\n",
        "FileBlobWriter.finish: fsync of the blob's bytes before the rename",
    ),
    Site(
        "blob-dir-fsync", "store/blobs.py",
        "        else:\n            store.fsync_dir(dest.parent)\n        return blob_id\n",
        "        else:\n            pass\n        return blob_id\n",
        "FileBlobWriter.finish: fsync of the blob's directory after the rename",
    ),
    Site(
        "blob-new-subdir-fsync", "store/blobs.py",
        "                self.fsync_dir(d.parent)\n                self._dirs_known(d)\n",
        "                self._dirs_known(d)\n",
        "FileBlobStore.ensure_dir: fsync of the parent of a new blobs/ab/ directory",
    ),
    Site(
        "blob-existing-fsync", "store/blobs.py",
        "    def _sync_existing(self, dest: Path) -> None:\n",
        "    def _sync_existing(self, dest: Path) -> None:\n        return\n",
        "FileBlobStore._sync_existing: fsync of a blob found already stored (deduplicated) and of its directory",
        ("suite", BLOB_TEST),
    ),
    Site(
        "blob-root-fsync", "store/blobs.py",
        "        self.fsync_dir(self.root)\n        self.fsync_dir(self.root.parent)\n",
        "",
        "FileBlobStore.__init__: fsync of blobs/ and of the data dir (the entries of blobs/tmp and blobs/)",
        ("suite", BLOB_TEST),
    ),
    Site(
        "batch-file-fsync", "store/blobs.py",
        "                    store.fsync(fd)\n                finally:\n                    os.close(fd)\n            # Deepest",
        "                    pass\n                finally:\n                    os.close(fd)\n            # Deepest",
        "BlobBatch.sync (import) where syncfs(2) is unavailable: fsync of each blob file",
        (IMPORT_TEST,),
    ),
    Site(
        "batch-dir-fsync", "store/blobs.py",
        "                store.fsync_dir(directory)\n        store._dirs_known(*dirs)\n",
        "                pass\n        store._dirs_known(*dirs)\n",
        "BlobBatch.sync (import) where syncfs(2) is unavailable: fsync of each changed directory",
        (IMPORT_TEST,),
    ),
    Site(
        "syncfs-on-fuse", "store/blobs.py",
        "    if _SYNCFS is None or _on_fuse(fd):\n",
        "    if _SYNCFS is None:\n",
        "syncfs(): trusting syncfs(2) on FUSE, where it syncs nothing (the file-by-file fsyncs are skipped)",
        (IMPORT_TEST,),
    ),
    Site(
        "sqlite-data-dir-fsync", "store/sqlite/engine.py",
        "            os.fsync(fd)\n        finally:\n            os.close(fd)\n        conn = self._connect_writer()\n",
        "            pass\n        finally:\n            os.close(fd)\n        conn = self._connect_writer()\n",
        "Database.start: fsync of the data dir's parent (the data dir's own entry)",
    ),
    Site(
        "sqlite-synchronous-full", "store/sqlite/engine.py",
        '_WRITER_SYNCHRONOUS = "FULL"\n',
        '_WRITER_SYNCHRONOUS = "NORMAL"\n',
        "writer connection: synchronous=FULL (WAL fsync at every commit) weakened to NORMAL, at connect and"
        " after background slices (before, only the connect-time pragma was weakened, and the first"
        " background slice set FULL again: the suite could not catch it)",
    ),
    Site(
        "sqlite-synchronous-restore", "store/sqlite/engine.py",
        '                conn.execute(f"PRAGMA synchronous = {_WRITER_SYNCHRONOUS}")  # back, for every write\n',
        "",
        "background slice: synchronous=FULL not restored after the NORMAL of background work",
    ),
    Site(
        "sqlite-checkpointer-sync", "store/sqlite/engine.py",
        '            conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP_BYTES}")\n        except sqlite3.Error:\n'
        '            log.exception("checkpointer',
        '            conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP_BYTES}")\n'
        '            conn.execute("PRAGMA synchronous = OFF")\n        except sqlite3.Error:\n'
        '            log.exception("checkpointer',
        "checkpointer connection: its default synchronous (the fsync of the database file"
        " before the WAL is reused) turned OFF",
    ),
]  # fmt: skip

NOT_RUN = [
    (
        "net/tls.py _write_atomic: os.fsync of the self-signed key/cert",
        "no mail depends on it: a certificate lost at a cut is made again at the next start (its directory is"
        " never fsynced either, so a lost pair is simply absent, never half-written). Not a durability promise.",
    ),
    (
        "authn/keys.py _write_private and _fsync_dir: the fsyncs of a new DKIM key and of its folder",
        "no mail depends on them and the power-cut suite signs nothing; a key lost at a cut is a key not"
        " yet published in DNS (`dkim rotate` prints the record after the fsyncs). Not covered.",
    ),
    (
        "observe/health.py: the fsync of the /healthz probe file",
        "a probe that the data dir's file system accepts a synced write, removed at once; it keeps nothing.",
    ),
    (
        "store/blobs.py BlobBatch.sync and sync_filesystem: the syncfs(2) calls themselves",
        "syncfs(2) never reaches a FUSE daemon (the kernel forwards it only to virtiofs), so powerfs cannot"
        " tell a syncfs from none; on powerfs the blob store takes the file-by-file fsyncs instead (the"
        " batch-* rows above). Not covered.",
    ),
]


SYNCHRONOUS_LINE = '        conn.execute(f"PRAGMA synchronous = {_WRITER_SYNCHRONOUS}")\n'
SYNCHRONOUS_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def wal_default_synchronous() -> int:
    """What a WAL connection of this SQLite library gets without a PRAGMA synchronous."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "probe.db")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return int(conn.execute("PRAGMA synchronous").fetchone()[0])
        finally:
            conn.close()


def connect_time_synchronous() -> tuple[list[Site], list[tuple[str, str]]]:
    """The writer's connect-time ``PRAGMA synchronous = FULL``, removed: a site to run when
    this SQLite's own default for WAL is weaker, else a row saying why nothing can change."""
    default = wal_default_synchronous()
    what = "writer connection: the connect-time PRAGMA synchronous = FULL removed (SQLite's default applies)"
    if default < 2:
        return [Site("sqlite-synchronous-removed", "store/sqlite/engine.py", SYNCHRONOUS_LINE, "", what)], []
    why = (
        f"this SQLite ({sqlite3.sqlite_version}) gives a WAL connection synchronous={SYNCHRONOUS_NAMES.get(default, default)}"
        " by itself (compiled with DEFAULT_WAL_SYNCHRONOUS=2), so the removal changes nothing and there is"
        " nothing to catch; the line is there for builds whose default is NORMAL, which the"
        " sqlite-synchronous-full row (the same line weakened to NORMAL) stands for."
    )
    return [], [(what, why)]


def mutate(root: Path, site: Site | None) -> Path:
    src = root / "src"
    shutil.copytree(PACKAGE, src / "postoffice", ignore=shutil.ignore_patterns("__pycache__"))
    if site is not None:
        path = src / "postoffice" / site.file
        text = path.read_text()
        if text.count(site.old) != 1:
            raise SystemExit(f"{site.name}: the site occurs {text.count(site.old)} times in {site.file}")
        path.write_text(text.replace(site.old, site.new))
    return src


def run(site: Site | None, cuts: int, seed: int) -> str:
    """What caught the removal of ``site`` (the first of its checks that failed)."""
    lines = []
    for check in site.checks if site is not None else ("suite",):
        line = run_check(site, check, cuts, seed)
        lines.append(line)
        if not line.startswith("NOT caught"):
            break
    return "; ".join(lines)


def run_check(site: Site | None, check: str, cuts: int, seed: int) -> str:
    with tempfile.TemporaryDirectory(prefix="fsync-mutation-") as tmp, contextlib.chdir(tmp):
        # Not from the work tree: ``python -m`` puts the current directory first on the path.
        src = mutate(Path(tmp), site)
        env = {**os.environ, "PYTHONPATH": str(src)}
        where = subprocess.run(
            [sys.executable, "-c", "import postoffice; print(postoffice.__file__)"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        assert where.startswith(str(src)), f"the copy is not the one imported: {where}"
        started = time.monotonic()
        if check != "suite":
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(REPO / check)],
                env=env, capture_output=True, text=True,
            )  # fmt: skip
            took = time.monotonic() - started
            last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode == 0:
                return f"NOT caught by {check} ({took:.0f} s): {last}"
            return f"caught by {check} ({took:.0f} s): {last}"
        result = run_power_cuts(
            Path(tmp) / "run", cuts, seed, serve=[sys.executable, "-m", "postoffice"], env=env, stop_on_failure=True
        )
        took = time.monotonic() - started
    if result.ok:
        return f"NOT caught by the suite in {result.cuts} cuts ({took:.0f} s): {result.summary()}"
    first = (result.lost + result.duplicated + result.undone + result.strange + result.failures)[0]
    kinds = ", ".join(
        f"{len(getattr(result, k))} {k}" for k in ("lost", "duplicated", "undone", "strange", "failures")
        if getattr(result, k)
    )  # fmt: skip
    return f"caught by the suite at cut {result.cuts} ({took:.0f} s): {kinds}; first: {first}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=50, help="cuts per site (the test suite runs 50)")
    parser.add_argument("--seed", type=int, default=1515, help="the test suite's seed")
    parser.add_argument("--only", nargs="*", default=None, help="site names")
    parser.add_argument("--baseline", action="store_true", help="first run the unmutated copy")
    args = parser.parse_args(argv)
    removed_sites, removed_rows = connect_time_synchronous()
    sites = [s for s in [*SITES, *removed_sites] if args.only is None or s.name in args.only]
    status = 0
    if args.baseline:
        line = run(None, args.cuts, args.seed)
        print(f"baseline (no site removed): {line}", flush=True)
        status |= int(not line.startswith("NOT caught"))  # the unmutated code must pass
    print(f"| site | removed | caught by (suite = {TEST}, seed {args.seed}, up to {args.cuts} cuts) |")
    print("|---|---|---|")
    for site in sites:
        line = run(site, args.cuts, args.seed)
        print(f"| {site.name} | {site.what} | {line} |", flush=True)
        status |= int("; caught" not in line and not line.startswith("caught"))
    if args.only is None:
        for what, why in [*removed_rows, *NOT_RUN]:
            print(f"| (not run) | {what} | {why} |")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
