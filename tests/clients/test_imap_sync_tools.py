"""Debian's mbsync (isync) and offlineimap sync an account both ways with the IMAP server.

Each test delivers messages into INBOX, Work and Work/2024, runs a full sync into a local
Maildir under tmp_path (a generated config: plain IMAP on 127.0.0.1, which is a trusted
network, so LOGIN (mbsync) / AUTHENTICATE PLAIN (offlineimap) work without TLS), and
checks every message arrived with its content and flags. Then it changes the Maildir
(flags added by renaming a file's ``:2,`` info, a message removed, a new message written,
a new folder with a message) and syncs: the server must show the flags, the expunge, the
new message and the new folder. Then it changes the server (flags, an expunge, new
deliveries) and syncs: the Maildir must show them. A last sync must change nothing.
Maildir flag letters (S F R D T) are those of https://cr.yp.to/proto/maildir.html.

The tools are blocking subprocesses run with asyncio.create_subprocess_exec, so the
in-process server keeps serving on the test's loop. On a failed sync the assertion shows
the tool's protocol trace (mbsync -V -Dn, offlineimap -d imap).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from postoffice.store.api import FlagUpdate
from postoffice.testing.server import PASSWORD, TranscriptServer

USER = "alice@example.test"
SYNC_DEADLINE = 60.0  # seconds one sync run may take before the test fails


def message(subject: str) -> bytes:
    return (
        f"From: bob@example.test\r\nTo: {USER}\r\nSubject: {subject}\r\n"
        f"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <{subject}@example.test>\r\n"
        f"\r\nBody of {subject}.\r\nSecond line.\r\n"
    ).encode()


# Headers the tools add to find their own copies again: mbsync's X-TUID (interrupted-sync
# recovery, added to the copies it stores on either side), offlineimap's X-OfflineIMAP
# (added to messages it uploads, when the server's APPENDUID is not used).
TOOL_HEADERS = (b"x-tuid:", b"x-offlineimap:")


def normalized(data: bytes) -> bytes:
    """A message with LF line ends (Maildir files use LF; the server keeps CRLF) and
    without the headers the sync tools add."""
    head, sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.lower().startswith(TOOL_HEADERS)]
    return b"\n".join(kept) + sep + body


def subject_of(data: bytes) -> str:
    return str(email.message_from_bytes(data, policy=email.policy.default)["Subject"])


# ---- the local Maildir -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalMessage:
    path: Path
    flags: str  # Maildir info letters, e.g. "FS"; "" for a file in new/
    data: bytes


def read_maildir(folder: Path) -> dict[str, LocalMessage]:
    """Messages of one Maildir folder (cur/ and new/) by Subject."""
    out: dict[str, LocalMessage] = {}
    for sub in ("cur", "new"):
        directory = folder / sub
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue
            _, _, info = path.name.partition(":2,")
            data = path.read_bytes()
            subject = subject_of(data)
            assert subject not in out, f"{subject!r} twice in {folder}: {out[subject].path.name}, {path.name}"
            out[subject] = LocalMessage(path, info, data)
    return out


def message_files(root: Path) -> list[str]:
    """Every message file of every folder under ``root`` (names carry the flags)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.parent.name in ("cur", "new") and p.is_file())


def set_local_flags(msg: LocalMessage, letters: str) -> None:
    """What a Maildir MUA does to flag a message: move it to cur/ with the new ``:2,`` info."""
    base = msg.path.name.partition(":2,")[0]
    info = "".join(sorted(set(msg.flags) | set(letters)))
    msg.path.rename(msg.path.parent.parent / "cur" / f"{base}:2,{info}")


def write_local_message(folder: Path, name: str, data: bytes) -> None:
    """What a Maildir MDA does: write in tmp/, then rename into new/."""
    (folder / "tmp").mkdir(parents=True, exist_ok=True)
    tmp = folder / "tmp" / name
    tmp.write_bytes(normalized(data))
    tmp.rename(folder / "new" / name)


# ---- the server ----------------------------------------------------------------------------------


async def server_state(srv: TranscriptServer, mailbox: str) -> dict[str, tuple[frozenset[str], bytes]]:
    """Subject -> (flags, bytes) of the messages in a server mailbox."""
    mail = srv.mail
    box = await mail.get_mailbox(await srv.account("alice"), mailbox)
    out: dict[str, tuple[frozenset[str], bytes]] = {}
    for record in await mail.list_messages(box):
        data = await mail.read(await mail.get_content(record.content_id))
        subject = subject_of(data)
        assert subject not in out, f"{subject!r} twice on the server in {mailbox}"
        out[subject] = (record.flags, data)
    return out


async def uid_of(srv: TranscriptServer, mailbox: str, subject: str) -> int:
    mail = srv.mail
    box = await mail.get_mailbox(await srv.account("alice"), mailbox)
    for record in await mail.list_messages(box):
        if subject_of(await mail.read(await mail.get_content(record.content_id))) == subject:
            return record.uid
    raise AssertionError(f"{subject!r} is not in {mailbox} on the server")


async def deliver(
    srv: TranscriptServer, subject: str, mailbox: str = "INBOX", flags: frozenset[str] = frozenset()
) -> None:
    await srv.mail.deliver(message(subject), [USER], mailbox=mailbox, flags=flags)


async def seed(srv: TranscriptServer) -> None:
    """INBOX: in-1, in-2, in-3 (\\Seen); Work: work-1, work-2; Work/2024: deep-1 (\\Flagged)."""
    account = await srv.account("alice")
    await srv.mail.create_mailbox(account, "Work")
    await srv.mail.create_mailbox(account, "Work/2024")
    await deliver(srv, "in-1")
    await deliver(srv, "in-2")
    await deliver(srv, "in-3", flags=frozenset({"\\Seen"}))
    await deliver(srv, "work-1", "Work")
    await deliver(srv, "work-2", "Work")
    await deliver(srv, "deep-1", "Work/2024", flags=frozenset({"\\Flagged"}))


async def change_server(srv: TranscriptServer) -> None:
    """\\Answered on in-3, \\Flagged on work-1, in-1 expunged, in-4 and work-3 delivered."""
    mail = srv.mail
    account = await srv.account("alice")
    inbox = await mail.get_mailbox(account, "INBOX")
    work = await mail.get_mailbox(account, "Work")
    await mail.update_flags(inbox, [await uid_of(srv, "INBOX", "in-3")], FlagUpdate("add", frozenset({"\\Answered"})))
    await mail.update_flags(work, [await uid_of(srv, "Work", "work-1")], FlagUpdate("add", frozenset({"\\Flagged"})))
    await mail.expunge(inbox, [await uid_of(srv, "INBOX", "in-1")])
    await deliver(srv, "in-4")
    await deliver(srv, "work-3", "Work")


# ---- running a tool ------------------------------------------------------------------------------


async def run_tool(argv: list[str], env: dict[str, str]) -> str:
    """Run one sync; fail the test with its output (a protocol trace) unless it succeeds."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), SYNC_DEADLINE)
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        raise AssertionError(
            f"{argv[0]} did not finish in {SYNC_DEADLINE} s:\n{tail(out.decode(errors='replace'))}"
        ) from None
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"{' '.join(argv)} exited {process.returncode}:\n{tail(text)}"
    # offlineimap logs a failed folder as ERROR and may still exit 0.
    error = re.search(r"^(?:\S+ \S+ )?ERROR:.*", text, re.MULTILINE)
    assert error is None, f"{' '.join(argv)} reported {error.group(0) if error else ''}:\n{tail(text)}"
    return text


def tail(text: str, lines: int = 150) -> str:
    return "\n".join(text.splitlines()[-lines:])


# ---- the scenario, shared by both tools ----------------------------------------------------------


def assert_local_matches(local: dict[str, LocalMessage], expected: dict[str, str], log: str) -> None:
    """``expected``: subject -> the Maildir flag letters it must have (exactly); ``log``: the
    sync's output, shown on a mismatch."""
    assert sorted(local) == sorted(expected), tail(log)
    for subject, letters in expected.items():
        assert normalized(local[subject].data) == normalized(message(subject)), (subject, tail(log))
        flags = "".join(sorted(local[subject].flags))
        assert flags == letters, (subject, local[subject].path.name, tail(log))


async def scenario(srv: TranscriptServer, sync: Callable[[], Awaitable[str]], folder: Callable[[str], Path]) -> None:
    """Seed, sync down, change locally, sync up, change the server, sync down, sync idle.
    ``folder`` maps a server mailbox name to its local Maildir folder."""
    await seed(srv)

    log = await sync()
    assert_local_matches(read_maildir(folder("INBOX")), {"in-1": "", "in-2": "", "in-3": "S"}, log)
    assert_local_matches(read_maildir(folder("Work")), {"work-1": "", "work-2": ""}, log)
    assert_local_matches(read_maildir(folder("Work/2024")), {"deep-1": "F"}, log)

    # Local changes: flags, deletions, a new message, a new folder with a message.
    local_inbox, local_work = read_maildir(folder("INBOX")), read_maildir(folder("Work"))
    set_local_flags(local_inbox["in-1"], "FS")
    set_local_flags(local_work["work-1"], "S")
    local_inbox["in-2"].path.unlink()
    local_work["work-2"].path.unlink()
    write_local_message(folder("INBOX"), "1700000000.local1.testhost", message("local-1"))
    for sub in ("cur", "new", "tmp"):
        (folder("Notes") / sub).mkdir(parents=True)
    write_local_message(folder("Notes"), "1700000000.note1.testhost:2,S", message("note-1"))

    log = await sync()
    on_server = await server_state(srv, "INBOX")
    assert sorted(on_server) == ["in-1", "in-3", "local-1"], tail(log)
    assert {"\\Seen", "\\Flagged"} <= on_server["in-1"][0], (on_server["in-1"][0], tail(log))
    assert "\\Deleted" not in on_server["in-1"][0]
    assert normalized(on_server["local-1"][1]) == normalized(message("local-1"))
    work_on_server = await server_state(srv, "Work")
    assert sorted(work_on_server) == ["work-1"], tail(log)
    assert "\\Seen" in work_on_server["work-1"][0], (work_on_server["work-1"][0], tail(log))
    notes_on_server = await server_state(srv, "Notes")  # the folder was created, the message appended
    assert sorted(notes_on_server) == ["note-1"], tail(log)
    assert "\\Seen" in notes_on_server["note-1"][0]
    assert normalized(notes_on_server["note-1"][1]) == normalized(message("note-1"))

    # Server changes: flags, an expunge, new deliveries.
    await change_server(srv)
    log = await sync()
    assert_local_matches(read_maildir(folder("INBOX")), {"in-3": "RS", "in-4": "", "local-1": ""}, log)
    assert_local_matches(read_maildir(folder("Work")), {"work-1": "FS", "work-3": ""}, log)
    assert_local_matches(read_maildir(folder("Work/2024")), {"deep-1": "F"}, log)

    # Nothing changed anywhere: one more sync changes nothing on either side.
    root = folder("INBOX").parent
    before_local = message_files(root)
    before_server = {name: await server_state(srv, name) for name in ("INBOX", "Work", "Work/2024", "Notes")}
    log = await sync()
    assert message_files(root) == before_local, tail(log)
    assert {name: await server_state(srv, name) for name in before_server} == before_server, tail(log)


# ---- mbsync ----------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="mbsync (isync) is not installed")
async def test_mbsync_syncs_both_ways(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        config = tmp_path / "mbsyncrc"
        config.write_text(
            f"IMAPAccount remote\nHost 127.0.0.1\nPort {port}\nUser {USER}\nPass {PASSWORD}\n"
            "SSLType None\nAuthMechs LOGIN\nTimeout 30\n\n"
            "IMAPStore remote\nAccount remote\n\n"
            f"MaildirStore local\nPath {root}/\nInbox {root}/INBOX\nSubFolders Verbatim\n\n"
            "Channel sync\nFar :remote:\nNear :local:\nPatterns *\n"
            "Sync All\nCreate Both\nRemove None\nExpunge Both\nSyncState *\n"
        )
        env = {**os.environ, "HOME": str(tmp_path)}

        traces: list[str] = []

        async def sync() -> str:
            traces.append(await run_tool(["mbsync", "-V", "-Dn", "-c", str(config), "-a"], env))
            return traces[-1]

        await scenario(srv, sync, lambda name: root / name)  # SubFolders Verbatim: Work/2024
    # mbsync switches COMPRESS=DEFLATE (RFC 4978) on when offered: every sync above ran through it
    assert traces and all(re.search(r"^>+ \d+ COMPRESS DEFLATE", t, re.MULTILINE) for t in traces), tail(traces[-1])


# ---- offlineimap -----------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("offlineimap") is None, reason="offlineimap is not installed")
async def test_offlineimap_syncs_both_ways(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")
        config = tmp_path / "offlineimaprc"
        config.write_text(
            "[general]\naccounts = test\n"
            f"metadata = {tmp_path}/offlineimap-meta\n\n"
            "[Account test]\nlocalrepository = local\nremoterepository = remote\n\n"
            f"[Repository local]\ntype = Maildir\nlocalfolders = {root}\n\n"
            f"[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {port}\n"
            f"remoteuser = {USER}\nremotepass = {PASSWORD}\n"
            "ssl = no\nstarttls = no\nauth_mechanisms = PLAIN\nmaxconnections = 1\nholdconnectionopen = no\n"
        )
        env = {**os.environ, "HOME": str(tmp_path)}

        async def sync() -> str:  # -d imap: the protocol trace, on stdout with -u basic
            return await run_tool(["offlineimap", "-c", str(config), "-o", "-u", "basic", "-d", "imap"], env)

        await scenario(srv, sync, lambda name: root / name.replace("/", "."))  # Maildir sep "."
