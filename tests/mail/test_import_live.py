"""Import of a live Maildir (issue 15): the old server keeps moving files from new/ to
cur/ (and renaming them when flags change) while the import runs. A file renamed under
the importer is found again by its unique name, and the summary counts it once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import config_from_dict
from postoffice.mail import maildir
from postoffice.mail.transfer import import_path

N = 40


class RenamingProgress:
    """Plays the old server: once the import has scanned the folder (add_total), every
    file moves from new/ to cur/ (":2,S"); at each message done, one more file of cur/
    is renamed again (":2,RS")."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.renamed = 0

    def add_total(self, n: int) -> None:
        for name in sorted(os.listdir(self.source / "new")):
            os.rename(self.source / "new" / name, self.source / "cur" / f"{name}:2,S")

    def advance(self, n: int = 1) -> None:
        names = sorted(f for f in os.listdir(self.source / "cur") if f.endswith(":2,S"))
        if names:
            os.rename(self.source / "cur" / names[-1], self.source / "cur" / (names[-1][:-1] + "RS"))
            self.renamed += 1


async def test_files_moved_during_the_import_are_imported_once(tmp_path: Path) -> None:
    source = tmp_path / "Maildir"
    maildir.ensure_maildir(source)
    for n in range(N):
        (source / "new" / f"{1700000000 + n}.M{n}P1.host").write_bytes(f"Subject: m{n}\n\nbody {n}\n".encode())
    config = config_from_dict({"data_dir": str(tmp_path / "data"), "domains": ["example.test"]})
    s = await app.open_services(config)
    try:
        await s.mail.add_user("alice@example.test", "pw")
        progress = RenamingProgress(source)
        result = await import_path(s.mail, "alice@example.test", source, batch_size=7, progress=progress)
        assert result.errors == []
        assert (result.imported, result.skipped, result.failed) == (N, 0, 0)
        assert progress.renamed > 0
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        records = await s.mail.list_messages(await s.mail.get_mailbox(account, "INBOX"))
        assert len(records) == N
    finally:
        await s.close()


def test_a_file_listed_in_new_and_cur_is_listed_once(tmp_path: Path) -> None:
    # Moved from new/ to cur/ between the two directory reads: one message, the cur/ one.
    maildir.ensure_maildir(tmp_path)
    (tmp_path / "new" / "1700000000.M1P1.host").write_bytes(b"Subject: x\n\nx\n")
    (tmp_path / "cur" / "1700000000.M1P1.host:2,S").write_bytes(b"Subject: x\n\nx\n")
    (tmp_path / "cur" / "1700000001.M2P1.host:2,").write_bytes(b"Subject: y\n\ny\n")
    found = maildir.list_messages(tmp_path, [])
    assert [(m.base, m.flags) for m in found] == [
        ("1700000000.M1P1.host", frozenset({"\\Seen"})),
        ("1700000001.M2P1.host", frozenset()),
    ]


def test_a_renamed_file_is_read_by_its_unique_name(tmp_path: Path) -> None:
    maildir.ensure_maildir(tmp_path)
    (tmp_path / "new" / "1700000000.M1P1.host").write_bytes(b"Subject: x\n\nx\n")
    [message] = maildir.list_messages(tmp_path, [])
    os.rename(tmp_path / "new" / "1700000000.M1P1.host", tmp_path / "cur" / "1700000000.M1P1.host:2,RS")
    live = maildir.LiveFolder(tmp_path)
    assert live.read(message) == b"Subject: x\n\nx\n"
    os.unlink(tmp_path / "cur" / "1700000000.M1P1.host:2,RS")
    with pytest.raises(FileNotFoundError):
        live.read(message)
