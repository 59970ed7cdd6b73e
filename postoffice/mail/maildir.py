"""Maildir and Maildir++ on disk: reading trees for import, writing them for export.

Owns the file formats only (no store, no asyncio): folder discovery, the ``:2,``
info suffix, Dovecot's ``dovecot-keywords`` and ``dovecot-uidlist``, and the modified
UTF-7 folder names of Maildir++. ``mail.transfer`` drives import and export with it.

Layouts read (``find_folders``):
- a Maildir (``cur``/``new``/``tmp``) at PATH is INBOX;
- Maildir++ (Courier/Dovecot): ``PATH/.Sub.Folder`` is mailbox "Sub/Folder";
- a tree of plain Maildirs: ``PATH/Work/Projects/{cur,new,tmp}`` is "Work/Projects"
  (a subdirectory named ``INBOX`` is INBOX).

Invariants of what is written (``write_message``): files are delivered through
``tmp/`` and renamed into ``cur/``; their bytes use LF line ends (the Maildir
convention; the store keeps CRLF and import converts back, docs/architecture.md §5);
``S=`` is the size of the file on disk and ``W=`` the stored (CRLF) size, as Dovecot
spells them; the file's mtime is the message's internal date.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MaildirFolder",
    "MaildirMessage",
    "UidList",
    "is_maildir",
    "find_folders",
    "list_messages",
    "LiveFolder",
    "flags_from_info",
    "info_from_flags",
    "read_keywords",
    "write_keywords",
    "read_uidlist",
    "write_uidlist",
    "folder_dirname",
    "mutf7_encode",
    "mutf7_decode",
    "message_filename",
    "split_filename",
    "ensure_maildir",
    "write_message",
    "to_lf",
]

# Maildir info flags (https://cr.yp.to/proto/maildir.html) <-> IMAP system flags.
_INFO_TO_FLAG: Mapping[str, str] = {
    "D": "\\Draft",
    "F": "\\Flagged",
    "R": "\\Answered",
    "S": "\\Seen",
    "T": "\\Deleted",
}
_FLAG_TO_INFO: Mapping[str, str] = {v.lower(): k for k, v in _INFO_TO_FLAG.items()}
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"  # Dovecot: at most 26 keywords in file names

_SKIP_FILES = frozenset({"dovecot-uidlist", "dovecot-keywords", "dovecot.index", "maildirfolder", "subscriptions"})


@dataclass(frozen=True, slots=True)
class MaildirFolder:
    name: str  # mailbox name, "/" separated, "INBOX" for the root
    path: Path


@dataclass(frozen=True, slots=True)
class MaildirMessage:
    """One message file as listed. Small on purpose (an import lists a whole folder,
    100,000 files and more, before it reads them): the folder is one shared object,
    the flag sets are shared, path and base are derived when asked."""

    folder: Path
    name: str  # "cur/<file name>" or "new/<file name>"
    flags: frozenset[str]  # IMAP flags: system flags and keywords
    mtime: float

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def base(self) -> str:
        """File name without the ":2,..." info part (the unique name, the uidlist key)."""
        return split_filename(self.name[4:])[0]


@dataclass(slots=True)
class UidList:
    """``dovecot-uidlist``: UIDVALIDITY, UIDNEXT and UID per file base name."""

    uidvalidity: int
    uidnext: int
    uids: dict[str, int] = field(default_factory=dict)  # base name -> UID
    guid: str = ""


# ---- line ends ------------------------------------------------------------------------

def to_lf(data: bytes) -> bytes:
    """CRLF becomes LF, the Maildir convention on disk."""
    return data.replace(b"\r\n", b"\n")


# ---- modified UTF-7 (RFC 3501 §5.1.3), used by Maildir++ folder names --------------------


def mutf7_decode(name: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(name):
        c = name[i]
        if c != "&":
            out.append(c)
            i += 1
            continue
        end = name.find("-", i + 1)
        if end < 0:  # not valid mUTF-7: keep as is
            out.append(name[i:])
            break
        chunk = name[i + 1 : end]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            b64 += "=" * (-len(b64) % 4)
            try:
                out.append(base64.b64decode(b64).decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                out.append(name[i : end + 1])
        i = end + 1
    return "".join(out)


def mutf7_encode(name: str, *, also: str = "") -> str:
    """Encode ``name``; characters in ``also`` are encoded too (e.g. "." for Maildir++)."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for c in name:
        if 0x20 <= ord(c) <= 0x7E and c not in also:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            pending.append(c)
    flush()
    return "".join(out)


# ---- folders ------------------------------------------------------------------------------


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _canonical_inbox(name: str) -> str:
    head, sep, rest = name.partition("/")
    return "INBOX" + sep + rest if head.upper() == "INBOX" else name


def find_folders(root: Path) -> list[MaildirFolder]:
    """Every Maildir under ``root`` with its mailbox name, INBOX first."""
    folders: dict[str, MaildirFolder] = {}
    if is_maildir(root):
        folders["INBOX"] = MaildirFolder("INBOX", root)
    for child in sorted(root.iterdir()):
        if not child.is_dir() or child.name in ("cur", "new", "tmp"):
            continue
        if child.name.startswith("."):
            # Maildir++: ".A.B" is "A/B"; "." is the hierarchy separator.
            if child.name in (".", "..") or not is_maildir(child):
                continue
            levels = [mutf7_decode(p) for p in child.name[1:].split(".")]
            if any(not p for p in levels):
                continue
            name = _canonical_inbox("/".join(levels))
            folders.setdefault(name, MaildirFolder(name, child))
        else:
            for folder in _nested(child, [child.name]):
                folders.setdefault(folder.name, folder)
    ordered = sorted(folders.values(), key=lambda f: (f.name != "INBOX", f.name))
    return ordered


def _nested(path: Path, levels: list[str]) -> Iterator[MaildirFolder]:
    if is_maildir(path):
        name = _canonical_inbox("/".join(levels))
        yield MaildirFolder(name, path)
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith(".") and child.name not in ("cur", "new", "tmp"):
            yield from _nested(child, [*levels, child.name])


def flags_from_info(info: str, keywords: Sequence[str]) -> frozenset[str]:
    """IMAP flags of the letters after ":2," (uppercase: system flags, a-z: keywords)."""
    flags: set[str] = set()
    for letter in info:
        if letter in _INFO_TO_FLAG:
            flags.add(_INFO_TO_FLAG[letter])
        elif "a" <= letter <= "z":
            index = ord(letter) - ord("a")
            if index < len(keywords) and keywords[index]:
                flags.add(keywords[index])
    return frozenset(flags)


def info_from_flags(flags: frozenset[str], keyword_letters: Mapping[str, str]) -> str:
    """The letters after ":2,", in ASCII order as the Maildir spec asks."""
    letters = {_FLAG_TO_INFO[f.lower()] for f in flags if f.lower() in _FLAG_TO_INFO}
    letters |= {keyword_letters[f] for f in flags if f in keyword_letters}
    return "".join(sorted(letters))


def split_filename(name: str) -> tuple[str, str]:
    """(base, info letters) of a Maildir file name; info is "" without ":2,"."""
    for sep in (":2,", "!2,", ";2,"):  # ":" on Unix; "!"/";" from tools on other systems
        if sep in name:
            base, _, info = name.rpartition(sep)
            return base, info
    return name, ""


def list_messages(folder: Path, keywords: Sequence[str]) -> list[MaildirMessage]:
    """Messages of ``new/`` and ``cur/`` (``tmp/`` holds deliveries in progress).

    A live Maildir's server moves files from new/ to cur/ while we read: a unique name
    (the base) seen in both is one message, the cur/ one (read second, so newer)."""
    found: dict[str, MaildirMessage] = {}
    shared: dict[str, frozenset[str]] = {}  # info letters -> flags, one set per distinct info
    for sub in ("new", "cur"):
        directory = folder / sub
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIP_FILES or not entry.is_file():
                continue
            base, info = split_filename(entry.name)
            try:
                mtime = entry.stat().st_mtime
            except FileNotFoundError:
                continue  # moved on since the listing: found in cur/, or gone (expunged)
            flags = shared.get(info)
            if flags is None:
                flags = shared[info] = flags_from_info(info, keywords)
            found[base] = MaildirMessage(folder, f"{sub}/{entry.name}", flags, mtime)
    messages = list(found.values())
    found.clear()  # its keys (one string per file) go before the sort's keys come
    messages.sort(key=lambda m: (m.mtime, m.name))  # oldest first; ties in a stable order
    return messages


def _locations(folder: Path) -> dict[str, str]:
    """Unique name (base) -> path of every message now in cur/ or new/ (cur/ wins)."""
    where: dict[str, str] = {}
    for sub in ("new", "cur"):
        try:
            entries = os.scandir(folder / sub)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                where[split_filename(entry.name)[0]] = entry.path
    return where


class LiveFolder:
    """Reads the messages of a Maildir its server may still be changing (thread-safe).

    A message renamed since the listing (new/ to cur/, or a flag change in its info
    part) is found again by its unique name. One directory scan serves every file
    moved meanwhile: it is done again only when a name is not where it last said."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._where: dict[str, str] | None = None
        self._lock = threading.Lock()

    def locate(self, base: str, stale: str | None = None) -> str | None:
        """Where ``base`` is now; ``stale``: a path known to be wrong."""
        with self._lock:
            found = self._where.get(base) if self._where is not None else None
            if found is None or found == stale:
                self._where = _locations(self.path)
                found = self._where.get(base)
            return found if found != stale else None

    def read(self, message: MaildirMessage, *, attempts: int = 3) -> bytes:
        """The bytes of ``message``; FileNotFoundError if it is gone (expunged meanwhile)."""
        path: str | None = str(message.path)
        for _ in range(attempts):
            assert path is not None
            try:
                with open(path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                path = self.locate(message.base, stale=path)
                if path is None:
                    break
        raise FileNotFoundError(2, "No such file or directory (moved or deleted meanwhile)", str(message.path))


# ---- dovecot-keywords ----------------------------------------------------------------------


def read_keywords(folder: Path) -> list[str]:
    """Keyword names by index (index 0 is letter "a"); "" where a number is unused."""
    try:
        text = (folder / "dovecot-keywords").read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    names: dict[int, str] = {}
    for line in text.splitlines():
        number, _, name = line.strip().partition(" ")
        if number.isdigit() and name and int(number) < len(KEYWORD_LETTERS):
            names[int(number)] = name
    return [names.get(i, "") for i in range(max(names) + 1)] if names else []


def write_keywords(folder: Path, keywords: Sequence[str]) -> None:
    if keywords:
        (folder / "dovecot-keywords").write_text("".join(f"{i} {k}\n" for i, k in enumerate(keywords)), "utf-8")


# ---- dovecot-uidlist -------------------------------------------------------------------------


def read_uidlist(folder: Path) -> UidList | None:
    """Parse version 3 ("3 V<validity> N<next> G<guid>" then "<uid> [ext] :<base>")
    or version 1 ("1 <validity> <next>" then "<uid> <base>"); None if absent or unreadable."""
    try:
        lines = (folder / "dovecot-uidlist").read_text("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    if not lines:
        return None
    header = lines[0].split()
    try:
        if header[0] == "1" and len(header) >= 3:
            uidlist = UidList(int(header[1]), int(header[2]))
        elif header[0] in ("2", "3"):
            fields = {h[0]: h[1:] for h in header[1:] if h}
            uidlist = UidList(int(fields["V"]), int(fields.get("N", "1") or 1), guid=fields.get("G", ""))
        else:
            return None
    except (KeyError, ValueError, IndexError):
        return None
    for line in lines[1:]:
        uid_text, _, rest = line.partition(" ")
        if not uid_text.isdigit() or not rest:
            continue
        if header[0] == "1":
            base = rest.strip()
        else:
            colon = rest.find(":")
            if colon < 0:
                continue
            base = rest[colon + 1 :]
        uidlist.uids[split_filename(base)[0]] = int(uid_text)
    return uidlist


def write_uidlist(folder: Path, uidlist: UidList) -> None:
    lines = [f"3 V{uidlist.uidvalidity} N{uidlist.uidnext} G{uidlist.guid}\n"]
    for base, uid in sorted(uidlist.uids.items(), key=lambda item: item[1]):
        lines.append(f"{uid} :{base}\n")
    tmp = folder / "dovecot-uidlist.tmp"
    tmp.write_text("".join(lines), "utf-8")
    tmp.replace(folder / "dovecot-uidlist")


# ---- writing ---------------------------------------------------------------------------------


def folder_dirname(name: str) -> str:
    """Maildir++ directory of a mailbox ("" for INBOX): "Sub/Folder" -> ".Sub.Folder".
    A "." inside a level is written in modified UTF-7 so it cannot read as a separator."""
    if name == "INBOX":
        return ""
    return "." + ".".join(mutf7_encode(level, also=".") for level in name.split("/"))


def ensure_maildir(path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


def _safe_hostname(hostname: str) -> str:
    # Maildir spec: "/" and ":" in the host part are written as \057 and \072.
    return hostname.replace("/", "\\057").replace(":", "\\072").replace(",", "\\054")


def message_filename(internaldate: float, uid: int, n: int, hostname: str, size: int, vsize: int) -> str:
    """Base name ``<time>.<uid>_<n>.<host>,S=<size>,W=<vsize>`` (no info part)."""
    return f"{int(internaldate)}.{uid}_{n}.{_safe_hostname(hostname)},S={size},W={vsize}"


def write_message(folder: Path, base: str, info: str, data_lf: bytes, mtime: float) -> Path:
    """Deliver through tmp/ into cur/ with the info suffix; mtime is the internal date."""
    tmp = folder / "tmp" / base
    with open(tmp, "wb") as f:
        f.write(data_lf)
    os.utime(tmp, (mtime, mtime))
    final = folder / "cur" / f"{base}:2,{info}"
    os.replace(tmp, final)
    return final
