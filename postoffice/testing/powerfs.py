"""powerfs: an in-memory FUSE file system that forgets, at a simulated power cut,
everything that was not made durable with fsync, as a disk behind a volatile cache
would. Tests put a server's ``data_dir`` on it, SIGKILL the server, ``cut()``, and
start the server again on what a real machine would find after the power came back.

Run it as ``python -m postoffice.testing.powerfs MOUNTPOINT`` (root, /dev/fuse and
libfuse3 needed), or through :class:`PowerFS`, which starts it, waits for the mount,
cuts, and unmounts. The daemon is single-threaded: requests are served one at a time
in the order the kernel hands them over, and a cut is itself a request (a
``setxattr`` on the mount's root), so no write can slip in beside it.

What is durable (the model; each rule is what POSIX fsync(2) promises and no more):

- Every inode (file or directory) has a *current* state, which every reader sees
  while the power is on, and a *durable* state, what a cut falls back to.
- ``fsync(fd)`` and ``fdatasync(fd)`` of a FILE make its current bytes, size and
  attributes (mode, times) durable. Not its name: the entry naming it in a directory
  is the directory's state (SQLite fsyncs the directory after creating a journal or
  WAL; a careful writer fsyncs it after a create or a rename).
- ``fsync(fd)`` of a DIRECTORY makes its current list of entries (name -> inode)
  durable: creates, unlinks, renames in and out, mkdir, rmdir, link. Not the bytes of
  the files it names, nor the entries of its subdirectories.
- A new file or directory starts with an empty durable state: a file whose name was
  made durable but whose bytes were never synced comes back EMPTY (as a file on ext4
  does after an unsynced write and a synced directory); a new directory that was
  never synced itself comes back empty.
- A rename touches two directories: each keeps the side of it that was synced. A
  rename synced only in the target directory leaves the file under both names (a
  hard link): the strict reading of POSIX, which journaled file systems narrow.
- ``syncfs(2)`` and ``sync(2)`` are NOT seen: the kernel forwards FUSE_SYNCFS only to
  virtiofs, never to a /dev/fuse daemon, so on this file system (as on any FUSE file
  system: sshfs, mergerfs) they make nothing durable. Code that relies on them
  loses data here, as it would there.
- Not modelled: torn writes inside one write(2) and media errors. A cut keeps or drops
  each inode's unsynced changes whole.

``cut(keep=0.0)`` drops every unsynced change (the worst case a volatile cache
allows). ``cut(keep=p, seed=s)`` keeps, for each inode with unsynced changes
independently, its current state with probability ``p`` (the cache had written it
back before the power went): any of these outcomes is one a real disk may show, so
acknowledged data must survive all of them. After a cut every open file handle is
invalid (EBADF); inodes no longer reachable from the root are gone.

The kernel is told to cache nothing (attr/entry/negative timeouts 0, no kernel page
cache kept across opens), so a process started after a cut sees the durable state.
POSIX locks are left to the kernel (no ``lock`` operation), which is exact for
processes on one machine.
"""

from __future__ import annotations

import errno
import json
import os
import random
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Node", "PowerFS", "PowerFSOperations", "CUT_XATTR", "STATS_XATTR"]

CUT_XATTR = "user.powerfs.cut"
STATS_XATTR = "user.powerfs.stats"


@dataclass
class Node:
    """One inode: a regular file, a directory or a symbolic link."""

    ino: int
    mode: int
    data: bytearray = field(default_factory=bytearray)  # file bytes, link target
    entries: dict[str, Node] = field(default_factory=dict)  # directory
    mtime_ns: int = 0
    # The durable state: what a cut falls back to. A new inode has none yet.
    durable_data: bytes = b""
    durable_entries: dict[str, Node] = field(default_factory=dict)
    durable_mode: int = 0
    durable_mtime_ns: int = 0
    nlink: int = 0

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    def dirty(self) -> bool:
        if self.is_dir:
            return self.entries != self.durable_entries or self.mode != self.durable_mode
        return (
            self.data != self.durable_data or self.mode != self.durable_mode or self.mtime_ns != self.durable_mtime_ns
        )

    def make_durable(self) -> None:
        if self.is_dir:
            self.durable_entries = dict(self.entries)
        else:
            self.durable_data = bytes(self.data)
        self.durable_mode = self.mode
        self.durable_mtime_ns = self.mtime_ns

    def revert(self) -> None:
        if self.is_dir:
            self.entries = dict(self.durable_entries)
        else:
            self.data = bytearray(self.durable_data)
        self.mode = self.durable_mode
        self.mtime_ns = self.durable_mtime_ns


def _fail(code: int) -> OSError:
    return OSError(code, os.strerror(code))


class PowerFSOperations:
    """The mfusepy operations of powerfs (see the module docstring for the model).
    Plain methods on plain data, so the model is unit-tested without a mount."""

    use_ns = True

    def __init__(self) -> None:
        self._next_ino = 1
        self.root = self._new(stat.S_IFDIR | 0o755)
        self.root.make_durable()  # the empty file system itself is on disk
        self.root.nlink = 2
        self._handles: dict[int, Node] = {}
        self._next_fh = 1
        self.stats: dict[str, int] = {"fsync": 0, "fsyncdir": 0, "cuts": 0, "reverted": 0, "kept": 0}

    # ---- the model ----------------------------------------------------------------
    def _new(self, mode: int) -> Node:
        now = time.time_ns()
        # The type of an inode never changes; a cut before any sync leaves it empty.
        node = Node(ino=self._next_ino, mode=mode, mtime_ns=now, durable_mode=mode, durable_mtime_ns=now)
        self._next_ino += 1
        return node

    def _lookup(self, path: str) -> Node:
        node = self.root
        for part in path.split("/"):
            if not part:
                continue
            if not node.is_dir:
                raise _fail(errno.ENOTDIR)
            child = node.entries.get(part)
            if child is None:
                raise _fail(errno.ENOENT)
            node = child
        return node

    def _parent(self, path: str) -> tuple[Node, str]:
        head, _, name = path.rstrip("/").rpartition("/")
        parent = self._lookup(head)
        if not parent.is_dir:
            raise _fail(errno.ENOTDIR)
        return parent, name

    def _node(self, path: str | None, fh: int | None) -> Node:
        if fh:
            node = self._handles.get(fh)
            if node is None:
                raise _fail(errno.EBADF)
            return node
        if path is None:
            raise _fail(errno.EBADF)
        return self._lookup(path)

    def _handle(self, node: Node) -> int:
        fh = self._next_fh
        self._next_fh += 1
        self._handles[fh] = node
        return fh

    def _link(self, parent: Node, name: str, node: Node) -> None:
        old = parent.entries.get(name)
        if old is not None:
            old.nlink -= 1
        parent.entries[name] = node
        node.nlink += 1
        parent.mtime_ns = time.time_ns()

    def _unlink(self, parent: Node, name: str) -> Node:
        node = parent.entries.pop(name)
        node.nlink -= 1
        parent.mtime_ns = time.time_ns()
        return node

    def cut(self, keep: float = 0.0, seed: int | None = None) -> dict[str, int]:
        """The power cut: every inode falls back to its durable state (or, with
        probability ``keep``, keeps its current one); open handles die; what the
        durable tree no longer reaches is gone. Returns what was reverted and kept."""
        rng = random.Random(seed)
        reverted = kept = 0
        seen: set[int] = set()
        stack = [self.root]
        # Walk every inode reachable now or durably (a node may be in either tree).
        all_nodes: list[Node] = []
        while stack:
            node = stack.pop()
            if node.ino in seen:
                continue
            seen.add(node.ino)
            all_nodes.append(node)
            if node.is_dir:
                stack.extend(node.entries.values())
                stack.extend(node.durable_entries.values())
        for node in self._handles.values():  # open but unlinked: gone anyway
            if node.ino not in seen:
                seen.add(node.ino)
        for node in all_nodes:
            if not node.dirty():
                continue
            if keep and rng.random() < keep:
                node.make_durable()  # written back before the power went
                kept += 1
            else:
                node.revert()
                reverted += 1
        self._handles.clear()
        # Link counts as the durable tree has them.
        reachable: dict[int, Node] = {}
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.ino in reachable:
                continue
            reachable[node.ino] = node
            node.nlink = 2 if node.is_dir else 0
            if node.is_dir:
                stack.extend(node.entries.values())
        for node in reachable.values():
            if node.is_dir:
                for child in node.entries.values():
                    child.nlink += 0 if child.is_dir else 1
                    if child.is_dir:
                        node.nlink += 1
        self.root.nlink = max(self.root.nlink, 2)
        self.stats["cuts"] += 1
        self.stats["reverted"] += reverted
        self.stats["kept"] += kept
        return {"reverted": reverted, "kept": kept}

    # ---- FUSE operations ------------------------------------------------------------
    def init(self, path: str) -> None:
        pass

    def getattr(self, path: str | None, fh: int | None = None) -> dict[str, Any]:
        node = self._node(path, fh)
        size = len(node.data) if not node.is_dir else 4096
        return {
            "st_ino": node.ino,
            "st_mode": node.mode,
            "st_nlink": max(node.nlink, 1) if not node.is_dir else node.nlink,
            "st_size": size,
            "st_blocks": (size + 511) // 512,
            "st_uid": os.getuid(),
            "st_gid": os.getgid(),
            "st_atime": node.mtime_ns,
            "st_mtime": node.mtime_ns,
            "st_ctime": node.mtime_ns,
        }

    def access(self, path: str, amode: int) -> int:
        self._lookup(path)
        return 0

    def readdir(self, path: str, fh: int) -> list[tuple[str, dict[str, int], int]]:
        node = self._node(path, None)
        if not node.is_dir:
            raise _fail(errno.ENOTDIR)
        # With use_ino each entry carries its inode number: readdir(3) skips d_ino 0.
        listing = [
            (".", {"st_mode": node.mode, "st_ino": node.ino}, 0),
            ("..", {"st_mode": stat.S_IFDIR, "st_ino": 1}, 0),
        ]
        listing.extend((name, {"st_mode": child.mode, "st_ino": child.ino}, 0) for name, child in node.entries.items())
        return listing

    def opendir(self, path: str) -> int:
        node = self._lookup(path)
        if not node.is_dir:
            raise _fail(errno.ENOTDIR)
        return self._handle(node)

    def releasedir(self, path: str | None, fh: int) -> int:
        self._handles.pop(fh, None)
        return 0

    def fsyncdir(self, path: str | None, datasync: int, fh: int) -> int:
        node = self._node(path, fh)
        node.make_durable()
        self.stats["fsyncdir"] += 1
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        parent, name = self._parent(path)
        if name in parent.entries:
            raise _fail(errno.EEXIST)
        node = self._new(stat.S_IFDIR | (mode & 0o7777))
        self._link(parent, name, node)
        node.nlink = 2
        parent.nlink += 1
        return 0

    def rmdir(self, path: str) -> int:
        parent, name = self._parent(path)
        node = parent.entries.get(name)
        if node is None:
            raise _fail(errno.ENOENT)
        if not node.is_dir:
            raise _fail(errno.ENOTDIR)
        if node.entries:
            raise _fail(errno.ENOTEMPTY)
        self._unlink(parent, name)
        parent.nlink -= 1
        return 0

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        parent, name = self._parent(path)
        node = parent.entries.get(name)
        if node is None:
            node = self._new(stat.S_IFREG | (mode & 0o7777))
            self._link(parent, name, node)
        return self._handle(node)

    def open(self, path: str, flags: int) -> int:
        node = self._lookup(path)
        if node.is_dir:
            raise _fail(errno.EISDIR)
        if flags & os.O_TRUNC:
            node.data = bytearray()
            node.mtime_ns = time.time_ns()
        return self._handle(node)

    def release(self, path: str | None, fh: int) -> int:
        self._handles.pop(fh, None)
        return 0

    def flush(self, path: str | None, fh: int) -> int:
        return 0

    def read(self, path: str | None, size: int, offset: int, fh: int) -> bytes:
        node = self._node(path, fh)
        return bytes(node.data[offset : offset + size])

    def write(self, path: str | None, data: bytes, offset: int, fh: int) -> int:
        node = self._node(path, fh)
        if offset > len(node.data):
            node.data.extend(b"\0" * (offset - len(node.data)))
        node.data[offset : offset + len(data)] = data
        node.mtime_ns = time.time_ns()
        return len(data)

    def truncate(self, path: str | None, length: int, fh: int | None = None) -> int:
        node = self._node(path, fh)
        if length < len(node.data):
            del node.data[length:]
        else:
            node.data.extend(b"\0" * (length - len(node.data)))
        node.mtime_ns = time.time_ns()
        return 0

    def fallocate(self, path: str | None, mode: int, offset: int, size: int, fh: int) -> int:
        node = self._node(path, fh)
        if mode == 0 and offset + size > len(node.data):
            node.data.extend(b"\0" * (offset + size - len(node.data)))
            return 0
        if mode == 0:
            return 0
        raise _fail(errno.EOPNOTSUPP)

    def fsync(self, path: str | None, datasync: int, fh: int) -> int:
        node = self._node(path, fh)
        node.make_durable()
        self.stats["fsync"] += 1
        return 0

    def unlink(self, path: str) -> int:
        parent, name = self._parent(path)
        node = parent.entries.get(name)
        if node is None:
            raise _fail(errno.ENOENT)
        if node.is_dir:
            raise _fail(errno.EISDIR)
        self._unlink(parent, name)
        return 0

    def rename(self, old: str, new: str) -> int:
        old_parent, old_name = self._parent(old)
        new_parent, new_name = self._parent(new)
        node = old_parent.entries.get(old_name)
        if node is None:
            raise _fail(errno.ENOENT)
        target = new_parent.entries.get(new_name)
        if target is node:
            return 0
        if target is not None:
            if target.is_dir and not node.is_dir:
                raise _fail(errno.EISDIR)
            if node.is_dir and not target.is_dir:
                raise _fail(errno.ENOTDIR)
            if target.is_dir and target.entries:
                raise _fail(errno.ENOTEMPTY)
        self._unlink(old_parent, old_name)
        self._link(new_parent, new_name, node)
        if node.is_dir:
            old_parent.nlink -= 1
            new_parent.nlink += 1 if target is None else 0
        return 0

    def link(self, target: str, source: str) -> int:
        node = self._lookup(source)
        if node.is_dir:
            raise _fail(errno.EPERM)
        parent, name = self._parent(target)
        if name in parent.entries:
            raise _fail(errno.EEXIST)
        self._link(parent, name, node)
        return 0

    def symlink(self, target: str, source: str) -> int:
        parent, name = self._parent(target)
        if name in parent.entries:
            raise _fail(errno.EEXIST)
        node = self._new(stat.S_IFLNK | 0o777)
        node.data = bytearray(source.encode("utf-8", "surrogateescape"))
        self._link(parent, name, node)
        return 0

    def readlink(self, path: str) -> str:
        node = self._lookup(path)
        if not stat.S_ISLNK(node.mode):
            raise _fail(errno.EINVAL)
        return node.data.decode("utf-8", "surrogateescape")

    def chmod(self, path: str | None, mode: int) -> int:
        node = self._node(path, None)
        node.mode = (node.mode & ~0o7777) | (mode & 0o7777)
        return 0

    def chown(self, path: str | None, uid: int, gid: int) -> int:
        self._node(path, None)
        return 0

    def utimens(self, path: str | None, times: tuple[int, int] | None = None) -> int:
        node = self._node(path, None)
        node.mtime_ns = times[1] if times else time.time_ns()
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        return {"f_bsize": 4096, "f_frsize": 4096, "f_blocks": 1 << 24, "f_bfree": 1 << 23,
                "f_bavail": 1 << 23, "f_files": 1 << 20, "f_ffree": 1 << 19, "f_namemax": 255}  # fmt: skip

    # The control channel: extended attributes of the root.
    def setxattr(self, path: str, name: str, value: bytes, options: int, position: int = 0) -> int:
        if path == "/" and name == CUT_XATTR:
            args = json.loads(value or b"{}")
            self.cut(float(args.get("keep", 0.0)), args.get("seed"))
            return 0
        raise _fail(errno.ENOTSUP)

    def getxattr(self, path: str, name: str, position: int = 0) -> bytes:
        if path == "/" and name == STATS_XATTR:
            return json.dumps(self.stats).encode()
        raise _fail(errno.ENODATA)

    def listxattr(self, path: str) -> list[str]:
        return []

    def removexattr(self, path: str, name: str) -> int:
        raise _fail(errno.ENODATA)


def serve(mountpoint: str) -> None:
    """Mount powerfs on ``mountpoint`` and serve it until unmounted."""
    import mfusepy  # only where a mount is made: the model above needs no libfuse

    mfusepy.FUSE(
        PowerFSOperations(), mountpoint, foreground=True, nothreads=True,
        attr_timeout=0, entry_timeout=0, negative_timeout=0, use_ino=True, hard_remove=True,
        fsname="powerfs",
    )  # fmt: skip


class PowerFS:
    """A mounted powerfs in its own process: ``with PowerFS(path) as fs: ... fs.cut()``."""

    def __init__(self, mountpoint: Path) -> None:
        self.mountpoint = Path(mountpoint)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PowerFS:
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "postoffice.testing.powerfs", str(self.mountpoint)],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not os.path.ismount(self.mountpoint):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("powerfs did not mount")
            time.sleep(0.02)
        return self

    def cut(self, keep: float = 0.0, seed: int | None = None) -> None:
        """The power cut. Every process with a file open on the mount must be dead."""
        os.setxattr(self.mountpoint, CUT_XATTR, json.dumps({"keep": keep, "seed": seed}).encode())

    def stats(self) -> dict[str, int]:
        return dict(json.loads(os.getxattr(self.mountpoint, STATS_XATTR)))

    def __exit__(self, *exc: object) -> None:
        if self._process is None:
            return
        subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)], check=False, capture_output=True)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


if __name__ == "__main__":
    serve(sys.argv[1])
