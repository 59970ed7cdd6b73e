"""Typed, frozen settings and the TOML loader.

Every configuration key is declared exactly once, here, with its default and unit.
A bad file raises :class:`ConfigError` whose message is one line naming the file,
the key and what is wrong; the command line prints it and exits with status 2.

Sizes accept an integer number of octets or a string with a unit ("20MB", "2GiB");
durations accept seconds or a string with a unit ("30s", "10m", "1h").
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("postoffice.config")

MAX_PROCESSES = 64  # [server] processes at most

__all__ = [
    "Config",
    "ConfigError",
    "Listen",
    "TLSConfig",
    "AuthConfig",
    "ServerConfig",
    "QuotaConfig",
    "LogConfig",
    "MetricsConfig",
    "Limits",
    "SMTPLimits",
    "IMAPLimits",
    "POP3Limits",
    "MessageLimits",
    "AuthnConfig",
    "HTTPLimits",
    "RelayLimits",
    "RelayConfig",
    "DNSConfig",
    "load_config",
    "parse_size",
    "parse_duration",
    "DEFAULT_LISTEN",
]


class ConfigError(Exception):
    """A configuration problem; ``str()`` is one line for the administrator."""


# ---- units -----------------------------------------------------------------------

_SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1000, "kb": 1000, "kib": 1024,
    "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
    "g": 1000**3, "gb": 1000**3, "gib": 1024**3,
    "t": 1000**4, "tb": 1000**4, "tib": 1024**4,
}
_DURATION_UNITS = {"": 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_size(value: object) -> int:
    """Octets from ``1024``, ``"20MB"`` or ``"2GiB"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a size")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        if m and m.group(2).lower() in _SIZE_UNITS:
            return int(float(m.group(1)) * _SIZE_UNITS[m.group(2).lower()])
    raise ValueError(f"expected a size such as 1048576, \"20MB\" or \"2GiB\", got {value!r}")


def parse_duration(value: object) -> float:
    """Seconds from ``30``, ``"30s"``, ``"10m"`` or ``"1h"``; raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", value)
        if m and m.group(2).lower() in _DURATION_UNITS:
            return float(m.group(1)) * _DURATION_UNITS[m.group(2).lower()]
    raise ValueError(f"expected a duration such as 30, \"30s\", \"10m\" or \"1h\", got {value!r}")


# Marker metadata: how a field's TOML value is converted.
def _size(default: int) -> Any:
    return field(default=default, metadata={"kind": "size"})


def _duration(default: float) -> Any:
    return field(default=default, metadata={"kind": "duration"})


def _count(default: int) -> Any:
    return field(default=default, metadata={"kind": "count"})


# ---- sections ----------------------------------------------------------------------

DEFAULT_LISTEN: dict[str, str] = {
    "smtp": "127.0.0.1:2525",
    "submission": "127.0.0.1:2587",
    "submissions": "127.0.0.1:2465",
    "imap": "127.0.0.1:2143",
    "imaps": "127.0.0.1:2993",
    "pop3": "127.0.0.1:2110",
    "pop3s": "127.0.0.1:2995",
    "http": "127.0.0.1:8080",
    "https": "127.0.0.1:8443",
}


@dataclass(frozen=True)
class Listen:
    """Listener name -> (host, port). Absent listeners are off."""

    addresses: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, int] | None:
        return self.addresses.get(name)


@dataclass(frozen=True)
class TLSConfig:
    cert: Path | None = None  # PEM certificate chain; None: self-signed in data_dir
    key: Path | None = None  # PEM private key


@dataclass(frozen=True)
class AuthConfig:
    # Networks from which plain-text passwords are accepted without TLS.
    trusted_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    failure_delay: float = _duration(2.0)  # first delay after a failed login (seconds)
    failure_delay_max: float = _duration(15.0)  # the delay doubles per failure up to this
    failure_window: float = _duration(900.0)  # failures older than this are forgotten
    scram_iterations: int = _count(4096)  # PBKDF2 rounds for new SCRAM-SHA-256 keys
    # Seconds a FOUND local domain, recipient (account or alias) or INBOX is reused without
    # reading the store again (RCPT and delivery); changes made by another process (the
    # CLI while serve runs) show within this time. Misses are never cached. 0: off.
    directory_cache: float = _duration(2.0)

    def is_trusted(self, ip: str | None) -> bool:
        if not ip:
            return False
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in ipaddress.ip_network(n, strict=False) for n in self.trusted_networks)


@dataclass(frozen=True)
class ServerConfig:
    # Processes of ``serve``: every listener (SMTP, IMAP, POP3, the webmail) is served by
    # this many processes accepting on the same ports (SO_REUSEPORT), each with its own
    # store connections on the one data dir, joined by one change bus (IMAP IDLE, POP3
    # locks and webmail live updates work whichever process holds the session). 0 (the
    # default) = one per CPU core; at most 64. The deprecated ``smtp_processes`` key is
    # read as this one, with a warning in the log.
    processes: int = _count(0)
    # Garbage collection while serve runs: contents no message refers to any more, then
    # blob files no content refers to. A blob is kept while it is younger than
    # gc_grace (since written, or found again by a delivery's dedup): a delivery has
    # that long between writing its blobs and storing the message that refers to them.
    gc_interval: float = _duration(3600.0)
    gc_grace: float = _duration(6 * 3600.0)
    # Every listener shares one event loop: a stretch longer than this with no callback
    # run is logged as a stall, with the command that caused it (net.watchdog). 0: off.
    stall_threshold: float = _duration(0.25)
    # SIGTERM: the one deadline of a stop, for every protocol. Sessions of every listener
    # (SMTP, IMAP, POP3, the webmail) get this long to finish work in flight (an SMTP
    # DATA or BDAT, an IMAP APPEND, a RETR, an HTTP request) before they are closed with
    # their protocol's goodbye. The deprecated ``[limits.smtp] shutdown_grace`` is read
    # as this key, with a warning in the log.
    shutdown_grace: float = _duration(30.0)
    # Started as root: after binding the listeners, run as this user (and group; default
    # the user's primary group). Empty: stay as started.
    user: str = ""
    group: str = ""

    def process_count(self) -> int:
        """``processes`` with 0 resolved to the number of CPU cores (1 to 64)."""
        if self.processes:
            return self.processes
        return max(1, min(os.cpu_count() or 1, MAX_PROCESSES))


@dataclass(frozen=True)
class LogConfig:
    """``[log]``: one line per event on stderr (observe/logs.py)."""

    format: str = "text"  # "text" (key=value) or "json"
    level: str = "info"  # "debug", "info", "warning", "error"
    addresses: bool = False  # write mail addresses (user, from, to); else a short hash
    # Protocols whose commands are traced at debug level (names and durations, never
    # arguments): any of "smtp", "imap", "pop3".
    trace: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: ``/metrics`` on the http listener answers loopback clients, and
    others that send ``Authorization: Bearer <bearer_token>`` when one is set."""

    bearer_token: str = ""


@dataclass(frozen=True)
class MessageLimits:
    """Limits of the message parser, shared by every route into the store."""

    max_header_size: int = _size(1024 * 1024)  # octets of one header block
    max_depth: int = _count(50)  # multipart / message nesting depth
    max_parts: int = _count(10_000)  # MIME parts per message
    part_store_threshold: int = _size(64 * 1024)  # decoded leaf parts at least this large become their own blob
    # Audio and video leaves at least this large become their own blob too, so that a
    # short recording (a few seconds of a browser's WebM) is probed and gets its rendition.
    media_part_threshold: int = _size(4 * 1024)
    # Skeletons (the message minus its split-out parts) up to this size live in the content
    # row with the layout, not in a blob file: no file to create and fsync per small message.
    skeleton_inline_max: int = _size(64 * 1024)
    max_search_text: int = _size(1024 * 1024)  # octets of raw text bodies sampled per message for search/preview


@dataclass(frozen=True)
class SMTPLimits:
    max_message_size: int = _size(2 * 1024**3)  # octets (SIZE, RFC 1870)
    max_line_length: int = _size(4096)  # octets of a command line (RFC 5321 §4.5.3.1.4: >= 512)
    max_recipients: int = _count(1000)  # RCPT per transaction (RFC 5321 §4.5.3.1.8: >= 100)
    max_errors: int = _count(20)  # failed commands per session before disconnect
    max_junk_commands: int = _count(10)  # unknown commands per session before disconnect
    max_commands_before_mail: int = _count(100)  # NOOP/RSET/VRFY/... before the first MAIL
    max_connections_per_ip: int = _count(20)
    bare_lf: str = "normalise"  # "normalise" or "refuse": bare LF in DATA
    # Server-side waits on the client (seconds); each ends the session with 421 4.4.2.
    # RFC 5321 §4.5.3.2.1-.6 are the CLIENT's waits on our replies (the outbound queue's).
    timeout_initial: float = _duration(300.0)  # for the first command after the 220 greeting
    timeout_server: float = _duration(300.0)  # for every later command or AUTH line (§4.5.3.2.7: >= 5 min)
    timeout_data_init: float = _duration(120.0)  # for the first message octets after 354 (DATA)
    timeout_data_block: float = _duration(180.0)  # for each further read of DATA / BDAT octets (cf. §4.5.3.2.5)
    vrfy: bool = False  # off: 252 for every address alike
    # Submission (listeners submission, submissions), per authenticated user, counted in
    # the store so every process sees the same count. 0: no limit.
    max_messages_per_hour: int = _count(1000)  # messages accepted in the last 3600 s; then 450 4.7.0 at MAIL
    max_recipients_per_message: int = _count(100)  # RCPT per submitted message; then 452 4.5.3 (RFC 5321 §4.5.3.1.10)


@dataclass(frozen=True)
class IMAPLimits:
    # RFC 2971 §3.3: an ID command at its maximum (30 pairs, field names of 30 octets,
    # values of 1024 octets, quoted) is a line of about 31 KiB, and ID is sent before login.
    max_line_length_before_auth: int = _size(32 * 1024)
    max_line_length: int = _size(64 * 1024)
    max_literal_size: int = _size(2 * 1024**3)  # APPENDLIMIT
    max_nesting: int = _count(32)  # parenthesis depth in a command
    max_search_depth: int = _count(100)  # SEARCH keys nested in one another (NOT, OR, parentheses)
    max_commands_before_auth: int = _count(20)
    max_auth_failures: int = _count(3)  # then disconnect
    max_connections_per_user: int = _count(20)
    max_connections_per_ip: int = _count(50)
    idle_timeout: float = _duration(1800.0)  # RFC 9051 §5.4: at least 30 minutes
    idle_timeout_before_auth: float = _duration(60.0)
    max_mailbox_name_length: int = _count(255)  # octets, after decoding
    max_mailbox_depth: int = _count(16)
    max_keyword_length: int = _count(128)  # octets of one keyword (flag-keyword, RFC 9051 §2.3.2)
    max_keywords_per_mailbox: int = _count(256)  # different keywords in use in one mailbox
    # RFC 5464 METADATA: octets of one annotation value (NO [METADATA MAXSIZE n] above),
    # annotations of the server or of one mailbox (NO [METADATA TOOMANY] above)
    max_metadata_size: int = _size(64 * 1024)
    max_metadata_entries: int = _count(100)
    # RFC 5465 NOTIFY: mailboxes one NOTIFY SET may watch for message events (beyond:
    # NO [NOTIFICATIONOVERFLOW], §3.1); changes waiting for one session beyond which its
    # notifications stop with * OK [NOTIFICATIONOVERFLOW] (§5.8: a client not reading)
    max_notify_mailboxes: int = _count(1000)
    max_notify_backlog: int = _count(1000)
    # RFC 5267 §4.3.1: SEARCH / SORT contexts kept up to date (RETURN (UPDATE)) per session;
    # past it, * NO [NOUPDATE "tag"]. At least one is always allowed.
    max_search_contexts: int = _count(8)


@dataclass(frozen=True)
class POP3Limits:
    max_line_length: int = _size(512)  # RFC 2449: 255 octets of command line; allow slack
    max_auth_failures: int = _count(3)
    max_errors: int = _count(20)
    max_connections_per_ip: int = _count(20)
    idle_timeout: float = _duration(600.0)  # RFC 1939 §3: at least 10 minutes
    lock_ttl: float = _duration(120.0)  # maildrop lock lifetime without refresh (sessions refresh it); bounds a dead server's stale lock


@dataclass(frozen=True)
class AuthnConfig:
    # MX listener: SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) checked on every
    # message, the result written in an Authentication-Results field (RFC 8601) and the
    # DMARC policy applied (reject: 550 5.7.1; quarantine: the Junk folder). Off: none of it.
    inbound_checks: bool = True
    # Outbound: every message from a local domain is DKIM-signed (RSA-SHA256 and
    # Ed25519-SHA256) with keys made on first need in data_dir/dkim.
    dkim_sign: bool = True


@dataclass(frozen=True)
class RelayLimits:
    """The outbound queue and its SMTP client (``[limits.relay]``)."""

    first_retry: float = _duration(300.0)  # delay before the first retry of a deferred recipient
    max_retry: float = _duration(3600.0)  # the delay doubles per attempt up to this
    delay_notice: float = _duration(4 * 3600.0)  # a delay DSN after this long in the queue (RFC 3464)
    lifetime: float = _duration(5 * 86400.0)  # then the recipient bounces (RFC 5321 §4.5.4.1: 4-5 days)
    connections_per_destination: int = _count(10)  # simultaneous connections to one destination (Postfix: 20)
    messages_per_connection: int = _count(50)  # transactions sent on one connection before QUIT
    max_deliveries: int = _count(20)  # simultaneous connections over all destinations
    max_reply_line: int = _size(2048)  # octets of one reply line (RFC 5321 §4.5.3.1.5: 512)
    max_reply_lines: int = _count(100)  # lines of one multi-line reply (EHLO)
    max_received_headers: int = _count(50)  # more: a mail loop, bounced (RFC 5321 §6.3)
    timeout_connect: float = _duration(30.0)
    # RFC 5321 §4.5.3.2: the client's waits on the server.
    timeout_greeting: float = _duration(300.0)  # §4.5.3.2.1: 5 minutes
    timeout_command: float = _duration(300.0)  # §4.5.3.2.2-3: MAIL and RCPT, 5 minutes
    timeout_data_init: float = _duration(120.0)  # §4.5.3.2.4: 2 minutes
    timeout_data_block: float = _duration(180.0)  # §4.5.3.2.5: 3 minutes per write
    timeout_data_end: float = _duration(600.0)  # §4.5.3.2.6: 10 minutes
    poll_interval: float = _duration(30.0)  # the scheduler reads the queue at least this often


@dataclass(frozen=True)
class HTTPLimits:
    max_upload_size: int = _size(2 * 1024**3)  # one compose form with its attachments
    max_connections_per_ip: int = _count(100)
    session_lifetime: float = _duration(7 * 86400.0)  # a webmail sign-in lasts this long
    # RFC 9110 §14.2: a Range with more ranges than this is ignored (the whole part is sent).
    max_ranges: int = _count(16)
    # Bounded waste on the media endpoint (web/media.py): a 206 answer to an open-ended
    # range ("bytes=N-") carries at most this much; a player asks again for more.
    media_cap_video: int = _size(2 * 1024 * 1024)
    media_cap_audio: int = _size(256 * 1024)
    # After a first burst of this many seconds of media, a viewer's requests for a part
    # share one budget that refills at media_pace times the media's bitrate. 0: no pacing.
    media_burst: float = _duration(8.0)
    media_pace: float = 2.0


@dataclass(frozen=True)
class QuotaConfig:
    # RFC 9208: every account's limits unless `postoffice user quota` set its own
    # storage limit. 0: no limit. Enforced on delivery (SMTP 452 4.2.2 at RCPT when
    # already full, 552 5.2.2 when the message does not fit) and IMAP APPEND/COPY.
    default_storage: int = _size(0)  # octets: the sum of the sizes of the account's messages
    default_messages: int = _count(0)  # messages in all the account's mailboxes


@dataclass(frozen=True)
class Limits:
    smtp: SMTPLimits = field(default_factory=SMTPLimits)
    imap: IMAPLimits = field(default_factory=IMAPLimits)
    pop3: POP3Limits = field(default_factory=POP3Limits)
    http: HTTPLimits = field(default_factory=HTTPLimits)
    message: MessageLimits = field(default_factory=MessageLimits)
    relay: RelayLimits = field(default_factory=RelayLimits)


@dataclass(frozen=True)
class RelayConfig:
    """Where outbound mail goes (``[relay]``): static routes, else a smarthost, else MX."""

    enabled: bool = True  # false: no outbound queue; submission to other domains gets 451 4.3.0

    # "host:port" every non-routed message goes to instead of the MX hosts (RFC 6409 relay).
    smarthost: tuple[str, int] | None = None
    smarthost_user: str = ""  # AUTH PLAIN to the smarthost (RFC 4954), only over TLS
    smarthost_password: str = ""
    smarthost_tls: str = "starttls"  # "starttls" (required and verified), "implicit" (RFC 8314), "none"
    mx_port: int = 25  # port of the MX hosts (tests use an unprivileged one)
    # destination domain (lower case) -> (host, port), no DNS (``[relay.routes]``).
    routes: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    require_tls: bool = False  # refuse to send without verified TLS (else STARTTLS is opportunistic)
    helo_name: str = ""  # EHLO argument; default: the hostname
    # RFC 8461: apply the MTA-STS policy a destination publishes (verified TLS to its listed MX).
    mta_sts: bool = True
    mta_sts_port: int = 443  # HTTPS port of the policy hosts (tests use an unprivileged one)
    # PEM file of the CAs trusted for verified TLS when sending (SMTP and MTA-STS policy
    # fetches); "": the system's trust store.
    tls_ca_file: str = ""


@dataclass(frozen=True)
class DNSConfig:
    # Resolvers asked for MX routing and for SPF, DKIM and DMARC records, as (ip, port);
    # written "IP:PORT" or "IP" (port 53) in the file. (): the system's resolver.
    nameservers: tuple[tuple[str, int], ...] = ()
    timeout: float = 10.0  # seconds for one lookup, retries included

    def addresses(self) -> list[tuple[str, int]]:
        """The nameservers as (ip, port)."""
        return list(self.nameservers)


@dataclass(frozen=True)
class Config:
    hostname: str = "localhost"
    data_dir: Path = Path("data")
    domains: tuple[str, ...] = ("localhost",)
    public_url: str = ""  # default: http://<http listener>
    listen: Listen = field(default_factory=lambda: Listen(_default_listen()))
    tls: TLSConfig = field(default_factory=TLSConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    limits: Limits = field(default_factory=Limits)
    server: ServerConfig = field(default_factory=ServerConfig)
    relay: RelayConfig = field(default_factory=RelayConfig)
    dns: DNSConfig = field(default_factory=DNSConfig)
    authn: AuthnConfig = field(default_factory=AuthnConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    log: LogConfig = field(default_factory=LogConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    source: str = "<defaults>"  # the file this came from, for messages

    @property
    def db_path(self) -> Path:
        return self.data_dir / "postoffice.sqlite3"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def dkim_dir(self) -> Path:
        return self.data_dir / "dkim"

    @property
    def mta_sts_cache(self) -> Path:
        """The MTA-STS policies fetched for destination domains (RFC 8461 §5.1)."""
        return self.data_dir / "mta-sts.json"

    def webmail_url(self) -> str:
        if self.public_url:
            return self.public_url
        http = self.listen.get("http")
        if http:
            host, port = http
            return f"http://{_format_host(host)}:{port}/"
        https = self.listen.get("https")
        if https:
            host, port = https
            return f"https://{_format_host(host)}:{port}/"
        return ""


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _default_listen() -> dict[str, tuple[str, int]]:
    return {name: _parse_hostport(value) for name, value in DEFAULT_LISTEN.items()}


# ---- loading -----------------------------------------------------------------------


def _parse_hostport(value: str) -> tuple[str, int]:
    m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)|([^:\[\]\s]+):(\d+)", value)
    if not m:
        raise ValueError(f"expected HOST:PORT such as \"127.0.0.1:2525\" or \"[::1]:2525\", got {value!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    if m.group(1):
        ipaddress.IPv6Address(host)
    elif not re.fullmatch(r"[A-Za-z0-9.-]+", host):
        raise ValueError(f"bad host {host!r}")
    return host, port


def _server_table(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    """``[server]`` with the deprecated ``smtp_processes`` read as ``processes`` (logged)."""
    out = dict(table)
    old = [key for key in out if key.replace("-", "_") == "smtp_processes"]
    if not old:
        return out
    if any(key.replace("-", "_") == "processes" for key in out):
        raise ConfigError(f"{source}: key 'server.{old[0]}': deprecated, and 'server.processes' is set too; keep only processes")
    value = out.pop(old[0])
    log.warning("%s: key 'server.%s' is deprecated: read as 'server.processes = %r' (every protocol)", source, old[0], value)
    out["processes"] = value
    return out


def _limits_table(table: Mapping[str, Any], source: str) -> tuple[dict[str, Any], Any]:
    """``[limits]`` without the deprecated ``[limits.smtp] shutdown_grace``, and its value
    (None when absent): ``[server] shutdown_grace`` is the one deadline of a stop."""
    out = dict(table)
    smtp = out.get("smtp")
    if not isinstance(smtp, dict):
        return out, None
    old = [key for key in smtp if key.replace("-", "_") == "shutdown_grace"]
    if not old:
        return out, None
    smtp = dict(smtp)
    value = smtp.pop(old[0])
    out["smtp"] = smtp
    return out, value


def _convert(section: str, cls: type[Any], raw: Mapping[str, Any], source: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        f = fields.get(name)
        dotted = f"{section}.{key}" if section else key
        if f is None or name == "source":
            raise ConfigError(f"{source}: unknown key '{dotted}'")
        kind = f.metadata.get("kind")
        default = f.default
        try:
            if kind == "size":
                values[name] = parse_size(value)
            elif kind == "duration":
                values[name] = parse_duration(value)
            elif kind == "count":
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"expected a whole number >= 0, got {value!r}")
                values[name] = value
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"expected true or false, got {value!r}")
                values[name] = value
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise ValueError(f"expected a string, got {value!r}")
                values[name] = value
            elif isinstance(default, (int, float)):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError(f"expected a number, got {value!r}")
                values[name] = value
            else:
                values[name] = value
        except ValueError as exc:
            raise ConfigError(f"{source}: key '{dotted}': {exc}") from None
    return cls(**values)


def load_config(path: Path | str | None = None) -> Config:
    """Load a TOML file; ``None`` means ``./postoffice.toml`` if present, else defaults."""
    if path is None:
        candidate = Path("postoffice.toml")
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path)
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not valid UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: bad TOML: {exc}") from None
    return config_from_dict(raw, source=source, base_dir=path.parent)


def config_from_dict(raw: Mapping[str, Any], *, source: str = "<dict>", base_dir: Path | None = None) -> Config:
    base_dir = base_dir or Path(".")
    known = {"hostname", "data_dir", "domains", "public_url", "listen", "tls", "auth", "limits", "server", "relay", "dns", "authn", "quota", "log", "metrics"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{source}: unknown key '{key}'")
    kwargs: dict[str, Any] = {"source": source}

    def want_str(key: str) -> str:
        value = raw[key]
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{source}: key '{key}': expected a non-empty string, got {value!r}")
        return value

    if "hostname" in raw:
        kwargs["hostname"] = want_str("hostname")
    if "public_url" in raw:
        kwargs["public_url"] = want_str("public_url")
    if "data_dir" in raw:
        d = Path(want_str("data_dir"))
        kwargs["data_dir"] = d if d.is_absolute() else base_dir / d
    if "domains" in raw:
        domains = raw["domains"]
        if not isinstance(domains, list) or not domains or not all(isinstance(d, str) for d in domains):
            raise ConfigError(f"{source}: key 'domains': expected a non-empty list of domain names")
        for d in domains:
            if not re.fullmatch(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*", d):
                raise ConfigError(f"{source}: key 'domains': {d!r} is not a domain name")
        kwargs["domains"] = tuple(d.lower() for d in domains)
    if "listen" in raw:
        table = raw["listen"]
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: key 'listen': expected a table")
        addresses: dict[str, tuple[str, int]] = {}
        for name, value in table.items():
            if name not in DEFAULT_LISTEN:
                raise ConfigError(f"{source}: unknown key 'listen.{name}' (listeners: {', '.join(DEFAULT_LISTEN)})")
            if not isinstance(value, str):
                raise ConfigError(f"{source}: key 'listen.{name}': expected \"HOST:PORT\", got {value!r}")
            try:
                addresses[name] = _parse_hostport(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: key 'listen.{name}': {exc}") from None
        kwargs["listen"] = Listen(addresses)
    if "tls" in raw:
        table = _table(raw, "tls", source)
        for key in table:
            if key not in ("cert", "key"):
                raise ConfigError(f"{source}: unknown key 'tls.{key}'")
        paths: dict[str, Path] = {}
        for key in ("cert", "key"):
            if key in table:
                value = table[key]
                if not isinstance(value, str) or not value:
                    raise ConfigError(f"{source}: key 'tls.{key}': expected a file path")
                p = Path(value)
                p = p if p.is_absolute() else base_dir / p
                if not p.is_file():
                    raise ConfigError(f"{source}: key 'tls.{key}': file {str(p)!r} does not exist")
                paths[key] = p
        if ("cert" in paths) != ("key" in paths):
            missing = "key" if "cert" in paths else "cert"
            raise ConfigError(f"{source}: key 'tls.{missing}': needed together with tls.{'cert' if missing == 'key' else 'key'}")
        kwargs["tls"] = TLSConfig(cert=paths.get("cert"), key=paths.get("key"))
    if "auth" in raw:
        table = dict(_table(raw, "auth", source))
        nets = table.pop("trusted_networks", None)
        auth = _convert("auth", AuthConfig, table, source)
        if nets is not None:
            if not isinstance(nets, list) or not all(isinstance(n, str) for n in nets):
                raise ConfigError(f"{source}: key 'auth.trusted_networks': expected a list of networks")
            for n in nets:
                try:
                    ipaddress.ip_network(n, strict=False)
                except ValueError:
                    raise ConfigError(f"{source}: key 'auth.trusted_networks': {n!r} is not a network") from None
            auth = dataclasses.replace(auth, trusted_networks=tuple(nets))
        kwargs["auth"] = auth
    old_grace: Any = None
    if "limits" in raw:
        table, old_grace = _limits_table(_table(raw, "limits", source), source)
        sections = {"smtp": SMTPLimits, "imap": IMAPLimits, "pop3": POP3Limits, "http": HTTPLimits, "message": MessageLimits, "relay": RelayLimits}
        limit_kwargs: dict[str, Any] = {}
        for name, sub in table.items():
            if name not in sections:
                raise ConfigError(f"{source}: unknown key 'limits.{name}'")
            if not isinstance(sub, dict):
                raise ConfigError(f"{source}: key 'limits.{name}': expected a table")
            limit_kwargs[name] = _convert(f"limits.{name}", sections[name], sub, source)
        limits = Limits(**limit_kwargs)
        if limits.smtp.bare_lf not in ("normalise", "refuse"):
            raise ConfigError(f"{source}: key 'limits.smtp.bare_lf': expected \"normalise\" or \"refuse\"")
        kwargs["limits"] = limits
    if "server" in raw or old_grace is not None:
        server_table = _server_table(_table(raw, "server", source) if "server" in raw else {}, source)
        if old_grace is not None:
            if any(key.replace("-", "_") == "shutdown_grace" for key in server_table):
                raise ConfigError(
                    f"{source}: key 'limits.smtp.shutdown_grace': deprecated, and 'server.shutdown_grace' is set too; "
                    "keep only server.shutdown_grace (one deadline for every protocol)"
                )
            log.warning("%s: key 'limits.smtp.shutdown_grace' is deprecated: read as 'server.shutdown_grace = %r' "
                        "(one deadline for every protocol)", source, old_grace)  # fmt: skip
            server_table["shutdown_grace"] = old_grace
        server = _convert("server", ServerConfig, server_table, source)
        if server.processes > MAX_PROCESSES:
            raise ConfigError(
                f"{source}: key 'server.processes': expected at most {MAX_PROCESSES}, got {server.processes}"
            )
        if server.gc_interval < 1:
            raise ConfigError(f"{source}: key 'server.gc_interval': expected at least 1 second, got {server.gc_interval}")
        kwargs["server"] = server
    if "relay" in raw:
        kwargs["relay"] = _relay(_table(raw, "relay", source), source, base_dir)
    if "dns" in raw:
        kwargs["dns"] = _dns(_table(raw, "dns", source), source)
    if "authn" in raw:
        kwargs["authn"] = _convert("authn", AuthnConfig, _table(raw, "authn", source), source)
    if "quota" in raw:
        kwargs["quota"] = _convert("quota", QuotaConfig, _table(raw, "quota", source), source)
    if "log" in raw:
        kwargs["log"] = _log(_table(raw, "log", source), source)
    if "metrics" in raw:
        kwargs["metrics"] = _convert("metrics", MetricsConfig, _table(raw, "metrics", source), source)
    return Config(**kwargs)


def _hostport(value: object, key: str, source: str) -> tuple[str, int]:
    if not isinstance(value, str):
        raise ConfigError(f"{source}: key '{key}': expected \"HOST:PORT\", got {value!r}")
    try:
        return _parse_hostport(value)
    except ValueError as exc:
        raise ConfigError(f"{source}: key '{key}': {exc}") from None


def _relay(table: Mapping[str, Any], source: str, base_dir: Path) -> RelayConfig:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "smarthost":
            values[key] = _hostport(value, "relay.smarthost", source)
        elif key == "routes":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: key 'relay.routes': expected a table of \"domain\" = \"HOST:PORT\"")
            values[key] = {d.lower().rstrip("."): _hostport(v, f"relay.routes.{d}", source) for d in value for v in [value[d]]}
        elif key in ("mx_port", "mta_sts_port"):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
                raise ConfigError(f"{source}: key 'relay.{key}': expected a port 1-65535, got {value!r}")
            values[key] = value
        elif key == "smarthost_tls":
            if value not in ("starttls", "implicit", "none"):
                raise ConfigError(f"{source}: key 'relay.smarthost_tls': expected \"starttls\", \"implicit\" or \"none\"")
            values[key] = value
        elif key == "tls_ca_file":
            if not isinstance(value, str):
                raise ConfigError(f"{source}: key 'relay.tls_ca_file': expected a file path")
            if value:
                path = Path(value) if Path(value).is_absolute() else base_dir / value
                if not path.is_file():
                    raise ConfigError(f"{source}: key 'relay.tls_ca_file': file {str(path)!r} does not exist")
                value = str(path)
            values[key] = value
        elif key in ("smarthost_user", "smarthost_password", "helo_name"):
            if not isinstance(value, str):
                raise ConfigError(f"{source}: key 'relay.{key}': expected a string")
            values[key] = value
        elif key in ("require_tls", "enabled", "mta_sts"):
            if not isinstance(value, bool):
                raise ConfigError(f"{source}: key 'relay.{key}': expected true or false")
            values[key] = value
        else:
            raise ConfigError(f"{source}: unknown key 'relay.{key}'")
    return RelayConfig(**values)


def _dns(table: Mapping[str, Any], source: str) -> DNSConfig:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "nameservers":
            if not isinstance(value, list):
                raise ConfigError(f"{source}: key 'dns.nameservers': expected a list of \"IP\" or \"IP:PORT\"")
            servers = []
            for item in value:
                if isinstance(item, str) and (":" not in item or item.count(":") > 1 and not item.startswith("[")):
                    servers.append((item, 53))
                else:
                    servers.append(_hostport(item, "dns.nameservers", source))
            for host, _port in servers:
                try:
                    ipaddress.ip_address(host)
                except ValueError:
                    raise ConfigError(f"{source}: key 'dns.nameservers': {host!r} is not an IP address") from None
            values[key] = tuple(servers)
        elif key == "timeout":
            try:
                values[key] = parse_duration(value)
            except ValueError as exc:
                raise ConfigError(f"{source}: key 'dns.timeout': {exc}") from None
        else:
            raise ConfigError(f"{source}: unknown key 'dns.{key}'")
    return DNSConfig(**values)


def _log(table: Mapping[str, Any], source: str) -> LogConfig:
    values = dict(table)
    trace = values.pop("trace", [])
    if not isinstance(trace, list) or any(t not in ("smtp", "imap", "pop3") for t in trace):
        raise ConfigError(f"{source}: key 'log.trace': expected a list of \"smtp\", \"imap\", \"pop3\"")
    config = _convert("log", LogConfig, values, source)
    if config.format not in ("text", "json"):
        raise ConfigError(f"{source}: key 'log.format': expected \"text\" or \"json\"")
    if config.level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"{source}: key 'log.level': expected \"debug\", \"info\", \"warning\" or \"error\"")
    result: LogConfig = dataclasses.replace(config, trace=tuple(trace))
    return result


def _table(raw: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = raw[key]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: key '{key}': expected a table")
    return value
