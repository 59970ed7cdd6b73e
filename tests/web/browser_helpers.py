"""What the browser tests share (imported by name: the folder is on sys.path): Debian's
chromium launched by Playwright (never a downloaded browser) and ``postoffice serve``
as a real process on loopback, with the webmail, SMTP and IMAP listeners."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postoffice.testing.serve import free_port

CHROMIUM = "/usr/bin/chromium"
POSTOFFICE = Path(sys.executable).parent / "postoffice"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Webmail:
    """A running ``serve``: the webmail's base URL (no trailing "/") and its ports."""

    url: str
    http: int
    smtp: int
    imap: int
    process: subprocess.Popen[str]


@contextlib.contextmanager
def serve_webmail(root: Path, users: Sequence[str], password: str, deadline: float) -> Iterator[Webmail]:
    """``serve`` on a data dir under ``root`` with ``users`` (local parts in example.test),
    until it prints its webmail URL; stopped with SIGTERM (killed past ``deadline``)."""
    http, smtp, imap = free_port(), free_port(), free_port()
    config = root / "postoffice.toml"
    config.write_text(
        f'data_dir = "{root / "data"}"\ndomains = ["example.test"]\nhostname = "mail.example.test"\n'
        f'[listen]\nhttp = "127.0.0.1:{http}"\nsmtp = "127.0.0.1:{smtp}"\nimap = "127.0.0.1:{imap}"\n'
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for user in users:
        subprocess.run(
            [str(POSTOFFICE), "--config", str(config), "user", "add", f"{user}@example.test", "--password-stdin"],
            input=password + "\n", text=True, check=True, env=env, capture_output=True,
        )  # fmt: skip
    process = subprocess.Popen(
        [str(POSTOFFICE), "--config", str(config), "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    url = ""
    seen: list[str] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("Webmail URL: "):
            url = line.split(": ", 1)[1].strip()
            break
    assert url == f"http://127.0.0.1:{http}/", "".join(seen)
    # Keep reading the server's output so it never blocks on a full pipe.
    drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
    try:
        yield Webmail(url.rstrip("/"), http, smtp, imap, process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=deadline)
        finally:
            if process.poll() is None:
                process.kill()
            drain.wait(timeout=deadline)


@contextlib.contextmanager
def chromium(playwright_api: Any, extra_flags: Sequence[str] = ()) -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright's driver."""
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[*FLAGS, *extra_flags])
        try:
            yield browser
        finally:
            browser.close()
