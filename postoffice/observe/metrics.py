"""Prometheus metrics (prometheus-client), the whole server's figures in one scrape.

Owns: the metric objects (:data:`M`), :func:`setup_metrics` and :func:`render`.

Several processes: ``serve`` calls ``setup_metrics(data_dir/metrics, fresh=True)``
before any metric is touched, and each worker process ``setup_metrics(dir)``; every
process then writes its counters to its own memory-mapped files in that directory
(prometheus-client's multiprocess mode) and a scrape, in whichever process serves
``/metrics``, adds up the files of all of them. Gauges of open connections count live
processes only (``livesum``); a dead worker's files are marked with
:func:`process_gone`. Without ``setup_metrics`` (tests in one process) the metrics live
in this process's memory.

Figures read from the store at scrape time (queue length, oldest entry, store size,
what dedup saved) are not kept here: the ``/metrics`` endpoint passes them to
:func:`render` as ``gauges``.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from postoffice.errors import MailError
from postoffice.observe import logs

__all__ = ["M", "Metrics", "command", "counts_messages", "process_gone", "render", "setup_metrics", "CONTENT_TYPE"]

_log = logging.getLogger("postoffice.mail")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Every metric the server counts, on one registry."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry
        r = registry
        self.connections_total = Counter(
            "postoffice_connections", "Connections accepted, per listener", ["listener"], registry=r
        )
        self.connections_refused = Counter(
            "postoffice_connections_refused", "Connections refused by the per-address limit", ["listener"], registry=r
        )
        self.connections_open = Gauge(
            "postoffice_connections_open", "Connections open now, per listener", ["listener"],
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self.commands = Histogram(
            "postoffice_command_seconds", "Commands handled and their latency, per protocol and command",
            ["protocol", "command"], buckets=_LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.messages_accepted = Counter(
            "postoffice_messages_accepted", "Messages stored (SMTP, APPEND, webmail), per protocol", ["protocol"], registry=r
        )
        self.messages_refused = Counter(
            "postoffice_messages_refused", "Messages refused, per protocol and reason", ["protocol", "reason"], registry=r
        )
        self.deliveries = Counter(
            "postoffice_deliveries", "Messages put into mailboxes (one per recipient account)", ["protocol"], registry=r
        )
        self.auth_failures = Counter(
            "postoffice_auth_failures", "Failed logins, per protocol", ["protocol"], registry=r
        )
        self.media_sent = Counter(
            "postoffice_media_sent_bytes", "Media octets the webmail's players were sent (not downloads), per kind",
            ["kind"], registry=r,
        )  # fmt: skip
        self.media_saved = Counter(
            "postoffice_media_saved_bytes",
            "Media octets an answer to a player announced but never sent because the viewer stopped first "
            "(capped and paced answers cut short), per kind", ["kind"], registry=r,
        )  # fmt: skip
        self.bytes_sent = Counter(
            "postoffice_sent_bytes", "Octets sent to clients (before TLS), per protocol, counted as each connection closes", ["protocol"], registry=r
        )


M: Metrics = Metrics(CollectorRegistry(auto_describe=True))
_multiprocess_dir: Path | None = None


def setup_metrics(directory: Path, *, fresh: bool = False) -> None:
    """Switch this process to multiprocess mode under ``directory`` (``fresh``: the
    main process of ``serve`` clears what an earlier run left)."""
    global M, _multiprocess_dir
    if fresh and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    # Values made from now on are memory-mapped files in ``directory``.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    _multiprocess_dir = directory
    M = Metrics(None)  # in multiprocess mode the scrape reads the files, not a registry


def process_gone(pid: int) -> None:
    """A worker process ended: its live gauges stop counting."""
    if _multiprocess_dir is not None:
        multiprocess.mark_process_dead(pid, str(_multiprocess_dir))  # type: ignore[no-untyped-call]


class _Gauges(Collector):
    def __init__(self, gauges: Mapping[str, tuple[str, float]]) -> None:
        self.gauges = gauges

    def collect(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily(name, doc, value=value) for name, (doc, value) in self.gauges.items()]


def render(gauges: Mapping[str, tuple[str, float]] | None = None) -> bytes:
    """The Prometheus text exposition of every process's metrics, plus ``gauges``
    (name -> (help, value)) read at scrape time."""
    registry = CollectorRegistry()
    if _multiprocess_dir is not None:
        multiprocess.MultiProcessCollector(registry, str(_multiprocess_dir))  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        assert M.registry is not None
        text = generate_latest(M.registry)
    if gauges:
        extra = CollectorRegistry()
        extra.register(_Gauges(gauges))
        text += generate_latest(extra)
    return text



def command(protocol: str, name: str, seconds: float) -> None:
    """One command handled (metrics only; ``logs.command_done`` traces it)."""
    M.commands.labels(protocol, name).observe(seconds)


P = ParamSpec("P")
R = TypeVar("R")


def counts_messages(func: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Count a storing call (``MailService.deliver``, ``append``): a message accepted and
    its deliveries (``records`` of the result, else one) when it returns, a refusal by
    the MailError's kind when it raises one; the protocol comes from the log context."""

    @functools.wraps(func)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        protocol = str(logs.current().get("proto", "local"))
        try:
            result = await func(*args, **kwargs)
        except MailError as exc:
            reason = exc.kind.name.lower()
            M.messages_refused.labels(protocol, reason).inc()
            logs.event(_log, "message_refused", reason=reason)
            raise
        M.messages_accepted.labels(protocol).inc()
        records = getattr(result, "records", None)
        count = len(records) if isinstance(records, tuple) else 1
        M.deliveries.labels(protocol).inc(count)
        logs.event(_log, "message_stored", size=getattr(result, "size", 0), deliveries=count)
        return result

    return counted
