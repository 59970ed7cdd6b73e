"""powerfs, the power-cut file system, does what its docstring promises: what was fsynced
survives a cut, nothing else does (file bytes and directory entries alike)."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from postoffice.testing.powerfs import PowerFS, PowerFSOperations

mounted = pytest.mark.skipif(
    not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None or os.geteuid() != 0,
    reason="powerfs needs /dev/fuse, fusermount3 (Debian fuse3) and root",
)


def new_file(fs: PowerFSOperations, path: str, data: bytes, *, sync: bool) -> None:
    fh = fs.create(path, 0o644)
    fs.write(path, data, 0, fh)
    if sync:
        fs.fsync(path, 0, fh)
    fs.release(path, fh)


def sync_dir(fs: PowerFSOperations, path: str) -> None:
    fh = fs.opendir(path)
    fs.fsyncdir(path, 0, fh)
    fs.releasedir(path, fh)


def read(fs: PowerFSOperations, path: str) -> bytes:
    return fs.read(path, 1 << 20, 0, 0)


def names(fs: PowerFSOperations, path: str) -> set[str]:
    return {name for name, _, _ in fs.readdir(path, 0)} - {".", ".."}


def test_unsynced_write_is_gone_after_a_cut_and_a_synced_one_stays() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"synced", sync=True)
    sync_dir(fs, "/")
    fh = fs.open("/a", os.O_WRONLY)
    fs.write("/a", b"UNSYNC", 0, fh)
    fs.release("/a", fh)
    assert read(fs, "/a") == b"UNSYNC"  # readers see the cache while the power is on
    fs.cut()
    assert read(fs, "/a") == b"synced"


def test_fdatasync_counts_as_fsync() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"", sync=True)
    sync_dir(fs, "/")
    fh = fs.open("/a", os.O_WRONLY)
    fs.write("/a", b"data", 0, fh)
    fs.fsync("/a", 1, fh)
    fs.cut()
    assert read(fs, "/a") == b"data"


def test_a_synced_file_whose_directory_was_not_synced_vanishes() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"x", sync=True)
    fs.cut()
    assert names(fs, "/") == set()


def test_a_name_synced_without_its_bytes_comes_back_empty() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"never synced", sync=False)
    sync_dir(fs, "/")
    fs.cut()
    assert names(fs, "/") == {"a"}
    assert read(fs, "/a") == b""


def test_rename_without_directory_fsync_is_reverted() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/tmp", b"x", sync=True)
    sync_dir(fs, "/")
    fs.rename("/tmp", "/final")
    assert names(fs, "/") == {"final"}
    fs.cut()
    assert names(fs, "/") == {"tmp"}


def test_rename_across_directories_keeps_each_synced_side() -> None:
    fs = PowerFSOperations()
    fs.mkdir("/src", 0o755)
    fs.mkdir("/dst", 0o755)
    new_file(fs, "/src/f", b"x", sync=True)
    sync_dir(fs, "/src")
    sync_dir(fs, "/")
    fs.rename("/src/f", "/dst/f")
    sync_dir(fs, "/dst")  # the source directory is not synced
    fs.cut()
    assert names(fs, "/src") == {"f"} and names(fs, "/dst") == {"f"}
    assert read(fs, "/src/f") == read(fs, "/dst/f") == b"x"


def test_unlink_and_truncate_without_fsync_are_undone() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"aaa", sync=True)
    new_file(fs, "/b", b"bbb", sync=True)
    sync_dir(fs, "/")
    fs.unlink("/a")
    fs.truncate("/b", 1)
    fs.cut()
    assert names(fs, "/") == {"a", "b"}
    assert read(fs, "/b") == b"bbb"


def test_a_new_directory_needs_its_parent_synced() -> None:
    fs = PowerFSOperations()
    fs.mkdir("/d", 0o755)
    sync_dir(fs, "/d")
    fs.cut()
    assert names(fs, "/") == set()
    fs.mkdir("/d", 0o755)
    sync_dir(fs, "/")
    new_file(fs, "/d/f", b"x", sync=True)  # /d itself not synced: f is lost
    fs.cut()
    assert names(fs, "/") == {"d"} and names(fs, "/d") == set()


def test_open_handles_die_at_a_cut() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"x", sync=True)
    sync_dir(fs, "/")
    fh = fs.open("/a", os.O_RDWR)
    fs.cut()
    with pytest.raises(OSError) as e:
        fs.write(None, b"late", 0, fh)
    assert e.value.errno == errno.EBADF


def test_keep_fraction_one_keeps_every_unsynced_change() -> None:
    fs = PowerFSOperations()
    new_file(fs, "/a", b"x", sync=False)
    assert fs.cut(keep=1.0, seed=1) == {"reverted": 0, "kept": 2}
    assert names(fs, "/") == {"a"} and read(fs, "/a") == b"x"


@mounted
def test_mounted_fs_drops_unsynced_writes_of_real_system_calls(tmp_path: Path) -> None:
    with PowerFS(tmp_path / "mnt") as fs:
        root = fs.mountpoint
        fd = os.open(root / "kept", os.O_CREAT | os.O_WRONLY)
        os.write(fd, b"kept")
        os.fsync(fd)
        os.close(fd)
        dfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        (root / "lost").write_bytes(b"lost")
        with open(root / "kept", "ab") as f:
            f.write(b" and more")
        fs.cut()
        assert sorted(os.listdir(root)) == ["kept"]
        assert (root / "kept").read_bytes() == b"kept"
        assert fs.stats()["cuts"] == 1


@mounted
def test_sqlite_wal_commits_survive_with_synchronous_full_and_not_with_off(tmp_path: Path) -> None:
    with PowerFS(tmp_path / "mnt") as fs:
        for mode in ("FULL", "OFF"):
            conn = sqlite3.connect(fs.mountpoint / f"{mode}.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {mode}")
            conn.execute("CREATE TABLE t (x)")
            for i in range(50):
                conn.execute("INSERT INTO t VALUES (?)", (i,))
            conn.close()
        fs.cut()
        conn = sqlite3.connect(fs.mountpoint / "FULL.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (50,)
        conn.close()
        # OFF never fsyncs: its commits were in the cache only.
        conn = sqlite3.connect(fs.mountpoint / "OFF.db")
        tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
        assert tables == [] or conn.execute("SELECT count(*) FROM t").fetchone() != (50,)
        conn.close()
