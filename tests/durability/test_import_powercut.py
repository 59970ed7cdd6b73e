"""A power cut right after ``postoffice import`` reported success loses no imported
message (issue 15), also when the import ran its worker processes' path: on a FUSE
file system syncfs(2) makes nothing durable, so the blob store must not rely on it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from postoffice import app
from postoffice.config import load_config
from postoffice.testing.powerfs import PowerFS

POSTOFFICE = Path(sys.executable).parent / "postoffice"
MESSAGES = 80  # above mail/transfer.py POOL_MIN: the batch (worker) path is taken where it can be

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None or os.geteuid() != 0,
        reason="powerfs needs /dev/fuse, fusermount3 (Debian fuse3) and root",
    ),
    pytest.mark.skipif(not POSTOFFICE.exists(), reason="the postoffice console script is missing"),
]


async def stored_ids(config_file: Path) -> Counter[str]:
    async with app.services(load_config(config_file)) as s:
        account = await s.mail.get_account("alice@example.test")
        assert account is not None
        ids: Counter[str] = Counter()
        for record in await s.mail.list_messages(await s.mail.get_mailbox(account, "INBOX")):
            data = await s.mail.read(await s.mail.get_content(record.content_id))
            m = re.search(rb"Message-ID: <(m\d+)@import\.test>", data)
            assert m is not None, data[:200]
            ids[m.group(1).decode()] += 1
        return ids


def test_imported_messages_survive_a_power_cut(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    for n in range(MESSAGES):
        body = f"line of m{n}\r\n" * (1 + n % 7) if n % 10 else "QUJD" * 20_000 + "\r\n"  # some large parts
        (maildir / "cur" / f"17000000{n:02d}.M{n}P1.host:2,S").write_bytes(
            f"Message-ID: <m{n}@import.test>\r\nSubject: m{n}\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}".encode()
            if n % 10 == 0
            else f"Message-ID: <m{n}@import.test>\r\nSubject: m{n}\r\n\r\n{body}".encode()
        )
    with PowerFS(tmp_path / "mnt") as fs:
        config_file = tmp_path / "postoffice.toml"
        config_file.write_text(f'data_dir = "{fs.mountpoint / "data"}"\ndomains = ["example.test"]\n')

        def cli(*args: str, stdin: bytes = b"") -> None:
            done = subprocess.run([str(POSTOFFICE), "--config", str(config_file), *args], input=stdin,
                                  capture_output=True, timeout=120)  # fmt: skip
            assert done.returncode == 0, done.stderr.decode()

        cli("user", "add", "alice@example.test", "--password-stdin", stdin=b"password\n")
        cli("import", str(maildir), "--user", "alice@example.test")  # success: acknowledged
        fs.cut()
        ids = asyncio.run(stored_ids(config_file))
    assert ids == Counter({f"m{n}": 1 for n in range(MESSAGES)})
