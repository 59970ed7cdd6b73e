"""``postoffice serve`` as a real process, for the tests and benchmarks of the whole program.

Owns: :data:`POSTOFFICE` (the console script of the running virtualenv), :func:`free_port`
and :func:`start_serve`, which starts ``serve`` and waits until it accepts connections.

Invariants: only loopback ports are handed out; :func:`start_serve` either returns a
process that accepts on ``port`` or raises, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from pathlib import Path

__all__ = ["POSTOFFICE", "free_port", "start_serve"]

POSTOFFICE = Path(sys.executable).parent / "postoffice"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port of ``host`` that nothing listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


async def start_serve(config_file: Path, port: int, *, deadline: float = 30.0) -> asyncio.subprocess.Process:
    """Start ``postoffice --config FILE serve`` and return once 127.0.0.1:``port`` accepts.

    Raises AssertionError if the process exits or does not listen within ``deadline``
    seconds; the process is killed then."""
    process = await asyncio.create_subprocess_exec(
        str(POSTOFFICE), "--config", str(config_file), "serve",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    end = time.monotonic() + deadline
    try:
        while True:
            if process.returncode is not None:
                raise AssertionError(f"postoffice serve exited with status {process.returncode}")
            if time.monotonic() > end:
                raise AssertionError(f"postoffice serve did not listen on port {port} within {deadline:.0f} s")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            return process
    except BaseException:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        raise
