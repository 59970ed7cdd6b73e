"""Real interop with a private Debian Postfix on loopback: postoffice relays a message to
Postfix, which delivers it to a Maildir with the body intact; Postfix relays a message
into postoffice's MX listener, which delivers it. Needs root and Debian's postfix
(Makefile TEST_DEBS); the private instance is the one bench/smtp_postfix.py uses."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from postoffice.config import DNSConfig, RelayConfig
from postoffice.mail.outbound import Outbound
from postoffice.queue import QueueRunner, Router
from postoffice.store.queue import NewQueueRecipient
from postoffice.testing.server import TranscriptServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench._servers import Unavailable  # noqa: E402
from bench.smtp_postfix import DOMAIN, POSTCONF, POSTFIX, RECIPIENT, ensure_user, maildir_count, start_postfix  # noqa: E402

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(not Path(POSTFIX).exists() or os.geteuid() != 0, reason="needs root and Debian's postfix"),
]

DEADLINE = 60.0
BODY = b"Line one\r\n.\r\n..two dots\r\n.leading dot\r\n" + b"x" * 900 + b"\r\nend\r\n"


def relay_to(conf: Path, domain: str, port: int) -> None:
    """Make the private Postfix relay ``domain`` to 127.0.0.1:port, and reload it."""
    for setting in (f"relay_domains = {domain}", f"transport_maps = inline:{{{domain}=smtp:[127.0.0.1]:{port}}}"):
        done = subprocess.run([POSTCONF, "-c", str(conf), "-e", setting], capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
    done = subprocess.run([POSTFIX, "-c", str(conf), "reload"], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr


async def test_relay_to_postfix_and_from_postfix() -> None:
    # Under /var: Postfix's maillog_file must match maillog_file_prefixes (/var by default).
    work = Path(tempfile.mkdtemp(prefix="postoffice-postfix-", dir="/var/tmp"))
    os.chmod(work, 0o755)  # Postfix's own user walks into its data directory below
    try:
        pf = await asyncio.to_thread(start_postfix, work / "postfix")
    except Unavailable as exc:
        shutil.rmtree(work, ignore_errors=True)
        pytest.skip(f"private Postfix unavailable: {exc}")
    try:
        maildir = await asyncio.to_thread(ensure_user)
        async with TranscriptServer("smtp", users=["alice"], domain="a.test") as a:
            mx = await a.start_listener("smtp")
            outbound = a.mail.outbound
            assert isinstance(outbound, Outbound)
            router = Router(RelayConfig(routes={DOMAIN: ("127.0.0.1", pf.port)}), DNSConfig())
            runner = QueueRunner(a.mail, outbound.queue, outbound, a.config, router=router)
            header = f"From: alice@a.test\r\nTo: {RECIPIENT}\r\nSubject: to postfix\r\nMessage-ID: <interop-1@a.test>\r\n\r\n"
            await outbound.submit(
                header.encode() + BODY, sender="alice@a.test", local=[], remote=[NewQueueRecipient(RECIPIENT)],
                max_size=10**6,
            )  # fmt: skip
            await runner.run_until_idle()
            assert await outbound.queue.list_entries() == [], pf.tail_log()
            async with asyncio.timeout(DEADLINE):
                while maildir_count(maildir) < 1:  # noqa: ASYNC110 (Postfix's local agent writes the file)
                    await asyncio.sleep(0.1)
            [delivered] = [p for sub in ("new", "cur") for p in (maildir / sub).iterdir()]
            raw = delivered.read_bytes().replace(b"\r\n", b"\n")  # a Maildir file has LF line ends
            assert b"Message-ID: <interop-1@a.test>" in raw
            assert raw.split(b"\n\n", 1)[1] == BODY.replace(b"\r\n", b"\n")

            # Postfix relays a.test to postoffice's MX listener.
            await asyncio.to_thread(relay_to, pf.conf, "a.test", mx)
            message = EmailMessage()
            message["From"] = "someone@remote.test"
            message["To"] = "alice@a.test"
            message["Subject"] = "from postfix"
            message.set_content("Hello from Postfix.\n.\nA dot line above.\n")
            await aiosmtplib.send(message, hostname="127.0.0.1", port=pf.port, start_tls=False)
            async with asyncio.timeout(DEADLINE):
                while await a.count_messages("alice", "INBOX") < 1:  # noqa: ASYNC110 (Postfix's queue delivers)
                    await asyncio.sleep(0.1)
            box = await a.mail.get_mailbox(await a.account("alice"), "INBOX")
            [record] = await a.mail.list_messages(box)
            got = await a.mail.read(await a.mail.get_content(record.content_id))
            assert b"Subject: from postfix" in got and b"Hello from Postfix.\r\n.\r\nA dot line above.\r\n" in got
    finally:
        await asyncio.to_thread(pf.stop)
        shutil.rmtree(work, ignore_errors=True)
