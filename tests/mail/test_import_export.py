"""Import (Maildir, Maildir++, mbox) and export (Maildir++) through the command line.

Format-level tests need no store; the end-to-end ones run ``postoffice import`` /
``export`` in-process on a temporary data dir and look at the store afterwards.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from postoffice.cli import main
from postoffice.mail import maildir
from postoffice.mail.mbox import parse_from_line, read_mbox
from postoffice.message.lineends import to_crlf
from postoffice.testing.serve import free_port

# ---- formats (no store) -----------------------------------------------------------------------


def test_info_flags_and_keywords() -> None:
    assert maildir.flags_from_info("DFRSTab", ["$Work", "Later"]) == frozenset(
        {"\\Draft", "\\Flagged", "\\Answered", "\\Seen", "\\Deleted", "$Work", "Later"}
    )
    assert maildir.info_from_flags(frozenset({"\\Seen", "\\Answered", "Later"}), {"Later": "b"}) == "RSb"
    assert maildir.split_filename("123.abc.host,S=5:2,RS") == ("123.abc.host,S=5", "RS")
    assert maildir.split_filename("123.abc.host") == ("123.abc.host", "")


def test_uidlist_v3_and_v1(tmp_path: Path) -> None:
    (tmp_path / "dovecot-uidlist").write_text("3 V1234 N9 Gabcdef\n3 :a.host\n7 W120 S118 :b.host:2,S\n")
    uidlist = maildir.read_uidlist(tmp_path)
    assert uidlist is not None
    assert (uidlist.uidvalidity, uidlist.uidnext, uidlist.uids) == (1234, 9, {"a.host": 3, "b.host": 7})
    (tmp_path / "dovecot-uidlist").write_text("1 55 4\n2 x.host\n")
    uidlist = maildir.read_uidlist(tmp_path)
    assert uidlist is not None and (uidlist.uidvalidity, uidlist.uids) == (55, {"x.host": 2})


def test_mutf7_folder_names_round_trip() -> None:
    for name in ["Envoyés", "日本語", "a&b", "v1.2", "plain"]:
        encoded = maildir.mutf7_encode(name, also=".")
        assert "." not in encoded and "/" not in encoded
        assert maildir.mutf7_decode(encoded) == name
    assert maildir.mutf7_decode("Envoy&AOk-s") == "Envoyés"


def test_find_folders_maildirplusplus_and_nested(tmp_path: Path) -> None:
    for rel in ["", ".Work", ".Work.Projects", ".Envoy&AOk-s", "Archive/2023", "INBOX/Lists"]:
        maildir.ensure_maildir(tmp_path / rel)
    names = [f.name for f in maildir.find_folders(tmp_path)]
    assert names[0] == "INBOX"
    assert set(names) == {"INBOX", "Work", "Work/Projects", "Envoyés", "Archive/2023", "INBOX/Lists"}


def test_mbox_mboxrd_unquoting_and_dates() -> None:
    data = (
        b"From alice@example.test Sat Jan  3 01:05:34 1996\n"
        b"Subject: one\nStatus: RO\nX-Status: AF\n\nbody\n>From here\n>>From there\n\n"
        b"From bob@example.test Mon Feb 12 10:00:00 2024\n"
        b"Subject: two\n\nFrom-less body\n"
    )
    messages = list(read_mbox(io.BytesIO(data)))
    assert len(messages) == 2
    assert messages[0].data == b"Subject: one\nStatus: RO\nX-Status: AF\n\nbody\nFrom here\n>From there\n"
    assert messages[0].flags == frozenset({"\\Seen", "\\Answered", "\\Flagged"})
    assert messages[0].internaldate == 820631134.0
    assert messages[1].data == b"Subject: two\n\nFrom-less body\n"
    assert parse_from_line(b"From x Mon Feb 12 10:00:00 2024 +0100\n") == 1707728400.0


# ---- end to end through the command line ------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "postoffice.toml"
    path.write_text(
        f'hostname = "mail.example.test"\ndata_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n'
        f'[listen]\nimap = "127.0.0.1:{free_port()}"\n'
    )
    return path


@pytest.fixture
def cli(config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str, str]]:
    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(["--config", str(config_file), *args])
        out, err = capsys.readouterr()
        return code, out, err

    for user in ("alice@example.test", "bob@example.test"):
        code, _, err = run("user", "add", user, "--password-stdin", stdin="pw\n")
        assert code == 0, err
    return run


def message(n: int, subject: str = "") -> bytes:
    return (
        f"From: Sender {n} <sender{n}@example.org>\nTo: alice@example.test\n"
        f"Subject: {subject or f'message {n}'}\nMessage-ID: <{n}@example.org>\n"
        f"Date: Mon, 12 Feb 2024 10:00:00 +0000\n\nBody of message {n}.\nSecond line.\n"
    ).encode()


def make_maildir(root: Path) -> dict[str, list[tuple[bytes, frozenset[str], int]]]:
    """INBOX (uidlist, flags, keywords), .Work.Projects, nested Archive/2023; returns expectations."""
    expected: dict[str, list[tuple[bytes, frozenset[str], int]]] = {}
    layout = {
        "": ("INBOX", [("S", 3), ("RSa", 5), ("Fb", 8), ("", 9)]),
        ".Work.Projects": ("Work/Projects", [("T", 1), ("DS", 2)]),
        "Archive/2023": ("Archive/2023", [("S", 1)]),
    }
    n = 0
    for rel, (name, items) in layout.items():
        folder = root / rel
        maildir.ensure_maildir(folder)
        if rel == "":
            (folder / "dovecot-keywords").write_text("0 $Work\n1 Later\n")
        uidlines = []
        expected[name] = []
        for info, uid in items:
            n += 1
            base = f"{1700000000 + n}.M{n}P1.host"
            sub = "new" if info == "" else "cur"
            path = folder / sub / (base if sub == "new" else f"{base}:2,{info}")
            path.write_bytes(message(n))
            os.utime(path, (1700000000 + n, 1700000000 + n))
            uidlines.append(f"{uid} :{base}\n")
            keywords = ["$Work", "Later"] if rel == "" else []
            expected[name].append((message(n), maildir.flags_from_info(info, keywords), uid))
        if rel != "Archive/2023":
            (folder / "dovecot-uidlist").write_text(f"3 V{777 + len(rel)} N20 Gdeadbeef\n" + "".join(uidlines))
    return expected


async def _snapshot(config_file: Path, address: str) -> dict[str, list[tuple[bytes, frozenset[str], int, float]]]:
    from postoffice import app
    from postoffice.config import load_config

    async with app.services(load_config(config_file)) as s:
        account = await s.mail.get_account(address)
        assert account is not None
        result: dict[str, list[tuple[bytes, frozenset[str], int, float]]] = {}
        for box in await s.mail.list_mailboxes(account):
            rows = []
            for record in await s.mail.list_messages(box):
                content = await s.mail.get_content(record.content_id)
                rows.append((await s.mail.read(content), record.flags, record.uid, record.internaldate))
            result[box.name] = rows
            result[f"{box.name}#uidvalidity"] = [(b"", frozenset(), box.uidvalidity, 0.0)]
        return result


def snapshot(config_file: Path, address: str) -> dict[str, list[tuple[bytes, frozenset[str], int, float]]]:
    return asyncio.run(_snapshot(config_file, address))


def crlf(data: bytes) -> bytes:
    return to_crlf(data)


def test_import_maildir_keeps_flags_keywords_uids_and_is_idempotent(cli, config_file: Path, tmp_path: Path) -> None:
    expected = make_maildir(tmp_path / "Maildir")
    code, out, err = cli("import", str(tmp_path / "Maildir"), "--user", "alice@example.test")
    assert code == 0, err
    assert "imported 7" in out
    state = snapshot(config_file, "alice@example.test")
    for name, items in expected.items():
        got = {(data, flags, uid) for data, flags, uid, _ in state[name]}
        if name == "Archive/2023":  # no dovecot-uidlist: new UIDs
            assert {(d, f) for d, f, _ in got} == {(crlf(d), f) for d, f, _ in items}
        else:
            assert got == {(crlf(d), f, u) for d, f, u in items}
    assert state["INBOX#uidvalidity"][0][2] == 777
    assert state["Work/Projects#uidvalidity"][0][2] == 777 + len(".Work.Projects")
    # Internal date from the file mtime.
    assert sorted(t for *_, t in state["INBOX"]) == [1700000001.0, 1700000002.0, 1700000003.0, 1700000004.0]

    code, out, err = cli("import", str(tmp_path / "Maildir"), "--user", "alice@example.test")
    assert code == 0, err
    assert "imported 0" in out and "skipped 7" in out
    again = snapshot(config_file, "alice@example.test")
    assert {k: len(v) for k, v in again.items()} == {k: len(v) for k, v in state.items()}


def test_export_then_import_round_trips(cli, config_file: Path, tmp_path: Path) -> None:
    make_maildir(tmp_path / "Maildir")
    assert cli("import", str(tmp_path / "Maildir"), "--user", "alice@example.test")[0] == 0
    code, out, err = cli("export", "--user", "alice@example.test", str(tmp_path / "out"))
    assert code == 0, err
    exported = tmp_path / "out"
    assert (exported / "cur").is_dir() and (exported / ".Work.Projects" / "cur").is_dir()
    assert (exported / ".Archive.2023" / "dovecot-uidlist").read_text().startswith("3 V")
    assert "0 $Work" in (exported / "dovecot-keywords").read_text()
    for f in (exported / "cur").iterdir():  # LF on disk, S= is the file size
        data = f.read_bytes()
        assert b"\r\n" not in data
        assert f",S={len(data)}," in f.name
    code, _, err = cli("import", str(exported), "--user", "bob@example.test")
    assert code == 0, err
    alice = snapshot(config_file, "alice@example.test")
    bob = snapshot(config_file, "bob@example.test")
    assert {name for name, rows in alice.items() if rows} <= set(bob)
    for name, rows in alice.items():
        assert sorted(bob[name]) == sorted(rows), name  # bytes, flags, UIDs, dates; UIDVALIDITY too


def test_import_mbox(cli, config_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "mail.mbox"
    path.write_bytes(
        b"From a@example.org Mon Feb 12 10:00:00 2024\n" + message(1) + b">From the body\n\n"
        b"From b@example.org Tue Feb 13 10:00:00 2024\n" + message(2).replace(b"\n\n", b"\nStatus: RO\n\n", 1)
    )
    code, out, err = cli("import", str(path), "--user", "alice@example.test")
    assert code == 0, err
    inbox = snapshot(config_file, "alice@example.test")["INBOX"]
    assert len(inbox) == 2
    by_date = sorted(inbox, key=lambda row: row[3])
    assert by_date[0][0] == crlf(message(1) + b"From the body\n")
    assert by_date[0][3] == 1707732000.0
    assert "\\Seen" in by_date[1][1]
    assert cli("import", str(path), "--user", "alice@example.test")[0] == 0
    assert len(snapshot(config_file, "alice@example.test")["INBOX"]) == 2


def test_import_refusals(cli, tmp_path: Path) -> None:
    code, _, err = cli("import", str(tmp_path / "missing"), "--user", "alice@example.test")
    assert code == 1 and len(err.strip().splitlines()) == 1
    (tmp_path / "empty").mkdir()
    code, _, err = cli("import", str(tmp_path / "empty"), "--user", "alice@example.test")
    assert code == 1 and len(err.strip().splitlines()) == 1
    maildir.ensure_maildir(tmp_path / "md")
    code, _, err = cli("import", str(tmp_path / "md"), "--user", "nobody@example.test")
    assert code == 1 and len(err.strip().splitlines()) == 1


async def test_import_inserts_rows_only_after_their_blobs_are_synced(tmp_path: Path) -> None:
    """Batched import: blobs are written unsynced, then synced, THEN their rows inserted."""
    from postoffice import app
    from postoffice.config import config_from_dict
    from postoffice.mail.transfer import import_path
    from postoffice.store.api import NewContent, NewMessage
    from postoffice.store.blobs import FileBlobStore

    source = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (source / sub).mkdir(parents=True)
    for n in range(23):
        (source / "cur" / f"{1700000000 + n}.M{n}.host:2,S").write_bytes(f"Subject: m{n}\n\nbody {n}\n".encode())
    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["example.test"]})
    s = await app.open_services(config)
    try:
        await s.mail.add_user("alice@example.test", "pw")
        synced: set[str] = set()

        def fsync(fd: int) -> None:
            synced.add(os.readlink(f"/proc/self/fd/{fd}"))
            os.fsync(fd)

        blobs = FileBlobStore(config.blob_dir, fsync=fsync)  # injected fsync: batch syncs file by file
        s.mail.blobs = blobs
        unsynced_rows: list[str] = []
        insert = s.store.insert_messages

        async def checked_insert(content: NewContent, targets: list[NewMessage], delivery: object = None) -> object:
            for blob_id in content.blob_ids:
                path = blobs.path_of(blob_id)
                if str(path) not in synced or str(path.parent) not in synced:
                    unsynced_rows.append(blob_id)
            return await insert(content, targets, delivery)  # type: ignore[arg-type]

        s.store.insert_messages = checked_insert  # type: ignore[method-assign]
        result = await import_path(s.mail, "alice@example.test", source, batch_size=7)
        assert (result.imported, result.failed) == (23, 0)
        assert unsynced_rows == []
        again = await import_path(s.mail, "alice@example.test", source, batch_size=7)
        assert (again.imported, again.skipped) == (0, 23)
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        inbox = await s.mail.get_mailbox(account, "INBOX")
        assert len(await s.mail.list_messages(inbox)) == 23
    finally:
        await s.close()


async def test_import_in_worker_processes_syncs_before_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A big import ingests small messages in worker processes: every message arrives
    intact, big ones too, duplicates are skipped, and no row is inserted before one
    syncfs made its blobs (written by the workers) durable."""
    import time

    from postoffice import app
    from postoffice.config import config_from_dict
    from postoffice.mail import transfer
    from postoffice.store.api import NewContent, NewMessage

    source = tmp_path / "Maildir"
    maildir.ensure_maildir(source)
    expected: list[bytes] = []
    for n in range(150):
        data = message(n)
        if n == 7:  # bigger than SMALL: ingested in this process
            data += b"A" * 75 + b"\n" * 1 + (b"x" * 76 + b"\n") * (transfer.SMALL // 77 + 10)
        (source / "cur" / f"{1700000000 + n}.M{n}.host:2,S").write_bytes(data)
        expected.append(crlf(data))
    (source / "cur" / "1800000000.dup.host:2,").write_bytes(message(3))  # same bytes as message 3
    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["example.test"]})
    s = await app.open_services(config)
    try:
        await s.mail.add_user("alice@example.test", "pw")
        blobs = s.mail.blobs
        assert blobs.opener() is not None, "this test needs syncfs(2)"
        syncs: list[int] = []
        real_sync = blobs.sync_filesystem

        def sync_filesystem() -> None:
            real_sync()
            syncs.append(time.time_ns())

        monkeypatch.setattr(blobs, "sync_filesystem", sync_filesystem)
        used_processes: list[bool] = []
        grow = transfer._Pool.grow

        def spy_grow(self: transfer._Pool, n: int) -> None:
            grow(self, n)
            used_processes.append(self.processes)

        monkeypatch.setattr(transfer._Pool, "grow", spy_grow)
        late: list[str] = []
        insert = s.store.insert_messages

        async def checked_insert(content: NewContent, targets: list[NewMessage], delivery: object = None) -> object:
            for blob_id in content.blob_ids:
                written = os.stat(blobs.path_of(blob_id)).st_mtime_ns
                if not syncs or syncs[-1] < written:
                    late.append(blob_id)
            return await insert(content, targets, delivery)  # type: ignore[arg-type]

        s.store.insert_messages = checked_insert  # type: ignore[method-assign]
        result = await transfer.import_path(s.mail, "alice@example.test", source, batch_size=100)
        assert (result.imported, result.skipped, result.failed) == (150, 1, 0), result.errors
        assert used_processes and used_processes[0], "the first batch of 100 should start worker processes"
        assert late == []
        again = await transfer.import_path(s.mail, "alice@example.test", source)
        assert (again.imported, again.skipped) == (0, 151)
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        inbox = await s.mail.get_mailbox(account, "INBOX")
        stored = [await s.mail.read(await s.mail.get_content(r.content_id)) for r in await s.mail.list_messages(inbox)]
        assert sorted(stored) == sorted(expected)
    finally:
        await s.close()
