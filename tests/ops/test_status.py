"""``postoffice status``, and the systemd unit of ``contrib/``.

``status``: what an administrator reads at a glance.

Version, counts, the bytes of the messages (each mailbox's copy counted) and what they
take on disk after the part store and dedup, the outbound queue, and the last errors
any process logged on the data dir.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from postoffice import __version__, app
from postoffice.cli import main
from postoffice.config import load_config
from postoffice.mail.auth import fast_hasher
from postoffice.observe.logs import RECENT_ERRORS_FILE, RecentErrors, read_recent_errors
from postoffice.testing.serve import POSTOFFICE

ROOT = Path(__file__).resolve().parents[2]


def test_status_shows_sizes_queue_and_last_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config_file = tmp_path / "postoffice.toml"
    config_file.write_text(f'data_dir = "{tmp_path / "data"}"\ndomains = ["example.test"]\n[listen]\n')
    message = b"Subject: shared\r\n\r\n" + b"z" * 300_000 + b"\r\n"

    async def setup() -> int:
        async with app.services(load_config(config_file)) as s:
            s.mail.auth.hasher = fast_hasher()
            for user in ("alice", "bob"):
                await s.mail.add_user(f"{user}@example.test", "ops-right-pw-4d2")
            result = await s.mail.deliver(message, ["alice@example.test", "bob@example.test"])
            return result.size

    size = asyncio.run(setup())
    errors = RecentErrors(tmp_path / "data" / RECENT_ERRORS_FILE)
    logging.getLogger("postoffice.test").addHandler(errors)
    try:
        logging.getLogger("postoffice.test").error("the disk is on fire")
    finally:
        logging.getLogger("postoffice.test").removeHandler(errors)

    capsys.readouterr()
    assert main(["--config", str(config_file), "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("error "))
    assert values["version"] == __version__
    assert values["users"] == "2"
    assert values["messages"] == "2"
    assert int(values["message_bytes"]) == 2 * size
    assert int(values["content_bytes"]) == size  # one copy kept for both mailboxes
    assert int(values["dedup_saved_bytes"]) == size
    assert 0 < int(values["blob_bytes"]) < 2 * size  # the big part's file, once
    assert int(values["database_bytes"]) > 0
    assert values["queue"].startswith("0 messages, 0 recipients")
    assert values["recent_errors"] == "1"
    assert any(line.startswith("error ") and line.endswith("the disk is on fire") for line in lines)


def test_recent_errors_keep_the_last_ones(tmp_path: Path) -> None:
    handler = RecentErrors(tmp_path / RECENT_ERRORS_FILE, keep=20)
    logger = logging.getLogger("postoffice.test.many")
    logger.addHandler(handler)
    try:
        for n in range(600):  # past the trim threshold
            logger.error("failure number %d %s", n, "x" * 100)
    finally:
        logger.removeHandler(handler)
    last = read_recent_errors(tmp_path, keep=10)
    assert [e["msg"].split()[2] for e in last] == [str(n) for n in range(590, 600)]
    assert len((tmp_path / RECENT_ERRORS_FILE).read_text().splitlines()) < 600


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_the_systemd_unit_is_valid(tmp_path: Path) -> None:
    unit = (ROOT / "contrib" / "systemd" / "postoffice.service").read_text()
    assert "/opt/postoffice/.venv/bin/postoffice" in unit
    # verify checks that ExecStart exists: point it at this virtualenv's script.
    local = tmp_path / "postoffice.service"
    local.write_text(unit.replace("/opt/postoffice/.venv/bin/postoffice", str(POSTOFFICE)))
    out = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "postoffice.service" not in out.stderr, out.stderr  # no warning about the unit itself
