"""The one hook every protocol server calls after a command: metrics and trace.

``done(protocol, name, started, ok)``: the command's latency goes to the
``postoffice_command_seconds`` histogram and, when the protocol is traced at debug
level (``[log] trace``), one trace line. ``name`` must be a command of the protocol's
command table (or ``"unknown"``), so the label set stays bounded.
"""

from __future__ import annotations

import time

from postoffice.observe import logs, metrics

__all__ = ["done", "now"]

now = time.perf_counter


def done(protocol: str, name: str, started: float, ok: bool = True) -> None:
    seconds = time.perf_counter() - started
    metrics.command(protocol, name, seconds)
    logs.command_done(protocol, name, seconds, ok)
