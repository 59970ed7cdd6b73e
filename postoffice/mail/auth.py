"""Credentials and the password check, shared by every protocol and the web.

This module owns:

- making stored credentials from a password (:func:`make_credentials`): an argon2id
  hash (argon2-cffi defaults unless a cheaper hasher is injected for tests) plus the
  SCRAM-SHA-256 salt, iteration count, StoredKey and ServerKey (RFC 5802 §3);
- checking a password (:class:`Authenticator`), with the failure delay that grows per
  client address, and the rule on plain-text passwords without TLS (docs/architecture.md §9);
- running a whole SASL exchange for a protocol (:meth:`Authenticator.authenticate`).

Invariants:
- No clear password is ever stored. Every password is normalised with
  ``wire.sasl.saslprep`` (RFC 4013-like: non-ASCII spaces mapped, ignorable characters
  dropped, NFKC) before it is hashed or checked, so PLAIN, LOGIN, USER/PASS, the web
  and SCRAM all accept the same passwords. Pure-ASCII passwords are unchanged.
- A failed check waits its delay (``clock.sleep``) BEFORE the error is raised, and an
  unknown user costs the same delay and the same argon2 work as a wrong password.
- The failure record is per client address and shared by every process on the data
  directory (``store.shared.SharedState``): failures in one process lengthen the delay
  in all. Failure times are wall-clock (``clock.now``), comparable across processes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from nacl import exceptions as sodium_errors
from nacl import pwhash as sodium_pwhash

from postoffice.clock import Clock
from postoffice.config import AuthConfig
from postoffice.errors import Kind, MailError
from postoffice.observe import logs, metrics
from postoffice.store.api import Account, Credentials, Store
from postoffice.store.shared import LocalSharedState, SharedState
from postoffice.wire.sasl import (
    MECHANISMS,
    PLAINTEXT_MECHANISMS,
    Challenge,
    Failure,
    NeedsPassword,
    NeedsScramCredentials,
    ScramCredentials,
    ScramSha256,
    Success,
    new_mechanism,
    saslprep,
    scram_keys,
)

__all__ = [
    "make_credentials",
    "verify_password",
    "fast_hasher",
    "Authenticator",
    "AuthResult",
    "Exchange",
    "SCRAM_SALT_SIZE",
]

log = logging.getLogger("postoffice.auth")

SCRAM_SALT_SIZE = 16  # octets of a new SCRAM salt

# argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1): about 40 ms per check on
# a small machine, so a busy IMAP server can afford a login per connection. Hashes record
# their own parameters, so raising the cost later keeps old hashes verifiable.
_default_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def fast_hasher() -> PasswordHasher:
    """A deliberately cheap argon2id hasher, for tests only."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def make_credentials(
    password: str,
    iterations: int = 4096,
    *,
    hasher: PasswordHasher | None = None,
    salt: bytes | None = None,
) -> Credentials:
    """Stored credentials for ``password``: argon2id hash plus SCRAM-SHA-256 keys."""
    normalised = saslprep(password)
    salt = salt if salt is not None else secrets.token_bytes(SCRAM_SALT_SIZE)
    stored_key, server_key = scram_keys(normalised, salt, iterations)
    return Credentials(
        argon2_hash=(hasher or _default_hasher).hash(normalised),
        scram_salt=salt,
        scram_iterations=iterations,
        scram_stored_key=stored_key,
        scram_server_key=server_key,
    )


def _argon2_verify(hasher: PasswordHasher, argon2_hash: str, password: str) -> bool:
    """True if ``password`` (SASLprepped) matches ``argon2_hash``; blocking, call from a thread.

    An argon2id hash is checked by libsodium (PyNaCl), whose argon2 core is vectorised:
    about two thirds of the CPU time of argon2-cffi's for the same hash (bench: the
    8-client IMAP load does one check per session). Same PHC string, same answer; a
    malformed hash is a mismatch in both. Other argon2 variants, and a hasher injected
    (tests), go to argon2-cffi."""
    if hasher is _default_hasher and argon2_hash.startswith("$argon2id$"):
        try:
            return bool(sodium_pwhash.argon2id.verify(argon2_hash.encode("ascii", "replace"), password.encode("utf-8")))
        except sodium_errors.InvalidkeyError:
            return False
    try:
        return bool(hasher.verify(argon2_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_password(credentials: Credentials, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """True if ``password`` matches; blocking (argon2), call from a thread."""
    return _argon2_verify(hasher or _default_hasher, credentials.argon2_hash, saslprep(password))


@dataclass(frozen=True, slots=True)
class AuthResult:
    account: Account
    mechanism: str
    # SCRAM server-final ("v=...") when ``send_final=False``: the protocol sends it as
    # additional data with its success answer (RFC 9051 §6.2.2 allows this in IMAP).
    server_final: bytes | None = None


# A protocol's half of a SASL exchange: send this challenge (base64-encode it and
# frame it: "334 ", "+ ", "+ "), return the client's decoded answer, or None when the
# client cancelled with "*". A line that is not base64 should raise
# MailError(Kind.INVALID) from here.
Exchange = Callable[[bytes], Awaitable[bytes | None]]


class Authenticator:
    """The credential check with its growing failure delay, per client address."""

    def __init__(
        self,
        store: Store,
        auth_config: AuthConfig,
        clock: Clock,
        *,
        hasher: PasswordHasher | None = None,
        scram_nonce: Callable[[], str] | None = None,
        shared: SharedState | None = None,
    ) -> None:
        self.store = store
        self.config = auth_config
        self.clock = clock
        self.hasher = hasher or _default_hasher
        self._scram_nonce = scram_nonce
        # Same salt for an unknown user on every attempt (RFC 5802 §5.1): keyed per process.
        self._unknown_user_secret = secrets.token_bytes(32)
        # Failure records per client address, seen by every process (store.shared).
        self.shared: SharedState = shared if shared is not None else LocalSharedState()
        self._dummy_hash: str | None = None

    # ---- plain-text policy ------------------------------------------------------------

    def plaintext_allowed(self, client_ip: str | None, tls: bool) -> bool:
        """Plain-text passwords need TLS, or a client in ``trusted_networks`` (docs/architecture.md §9)."""
        return tls or self.config.is_trusted(client_ip)

    def mechanisms(self, client_ip: str | None, tls: bool) -> list[str]:
        """SASL mechanisms to advertise on this connection, best first."""
        allowed = self.plaintext_allowed(client_ip, tls)
        return [m for m in MECHANISMS if allowed or m not in PLAINTEXT_MECHANISMS]

    # ---- failure delay ----------------------------------------------------------------

    def _delay(self, failures: int) -> float:
        delay = self.config.failure_delay * (2 ** min(failures, 32))
        return float(min(delay, self.config.failure_delay_max))

    async def failure_delay_for(self, client_ip: str | None) -> float:
        """The delay the next failure from ``client_ip`` will wait (seconds).

        failure_delay for the first failure, doubled per failure still within
        failure_window (counted in every process on the data directory), at most
        failure_delay_max.
        """
        since = self.clock.now() - self.config.failure_window
        return self._delay(await self.shared.recent_failures(client_ip or "", since))

    async def record_failure(self, client_ip: str | None) -> float:
        """Count a failure from ``client_ip`` and wait its delay; returns the delay waited.

        Protocols call this for failures the Authenticator did not see itself
        (a bad SCRAM proof is seen by ``authenticate``; a protocol driving SCRAM on its
        own calls this before answering the failure).
        """
        key = client_ip or ""
        earlier = await self.shared.record_failure(key, self.clock.now(), self.config.failure_window)
        delay = self._delay(earlier)
        # The one line per failed login (fail2ban matches ``event=auth_failed ... client=``,
        # see the README); the session's context adds protocol, listener and session id.
        protocol = str(logs.current().get("proto", "-"))
        metrics.M.auth_failures.labels(protocol).inc()
        logs.event(log, "auth_failed", "failed login", client=key or "-", earlier=earlier, delay=round(delay, 1))
        await self.clock.sleep(delay)
        return delay

    async def _record_success(self, client_ip: str | None, account: Account) -> None:
        logs.set_user(account.address)
        logs.event(log, "login", user=account.address)
        await self.shared.clear_failures(client_ip or "")

    # ---- checks -------------------------------------------------------------------------

    async def _lookup(self, username: str) -> tuple[Account | None, Credentials | None]:
        account = await self.store.get_account(username.strip().lower())
        if account is None:
            return None, None
        return account, await self.store.get_credentials(account.id)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(secrets.token_hex(16))
        return self._dummy_hash

    def _verify(self, argon2_hash: str, password: str) -> bool:
        return _argon2_verify(self.hasher, argon2_hash, saslprep(password))

    async def check_password(self, username: str, password: str, client_ip: str | None) -> Account:
        """The account for ``username`` if ``password`` is right; else wait, then AUTH_FAILED."""
        account, creds = await self._lookup(username)
        if account is None or creds is None:
            # Same argon2 work as a real check, so timing does not tell who exists.
            await asyncio.to_thread(self._verify, self._dummy(), password)
            ok = False
        else:
            ok = await asyncio.to_thread(self._verify, creds.argon2_hash, password)
        if not ok or account is None:
            await self.record_failure(client_ip)
            raise MailError(Kind.AUTH_FAILED, "authentication failed")
        await self._record_success(client_ip, account)
        return account

    async def scram_credentials(self, username: str) -> Credentials | None:
        """Stored credentials of ``username`` for SCRAM, or None if no such account."""
        _account, creds = await self._lookup(username)
        return creds

    # ---- a whole SASL exchange ----------------------------------------------------------

    async def authenticate(
        self,
        mechanism: str,
        initial_response: bytes | None,
        exchange: Exchange,
        *,
        client_ip: str | None,
        tls: bool,
        send_final: bool = True,
    ) -> AuthResult:
        """Run one SASL exchange (RFC 4422) and return the account.

        Raises MailError: INVALID for an unknown mechanism or a cancelled exchange
        (the client's "*"), ENCRYPTION_REQUIRED for PLAIN/LOGIN without TLS outside
        trusted_networks, AUTH_FAILED (after the failure delay) for anything else.
        An authorization identity other than the authentication identity is refused:
        we do not let one user act as another.
        """
        name = mechanism.upper()
        if name not in MECHANISMS:
            raise MailError(Kind.INVALID, "unsupported authentication mechanism")
        if name in PLAINTEXT_MECHANISMS and not self.plaintext_allowed(client_ip, tls):
            raise MailError(Kind.ENCRYPTION_REQUIRED, "plain-text authentication requires TLS")
        machine = new_mechanism(
            name,
            nonce=self._scram_nonce,
            unknown_user_secret=self._unknown_user_secret,
            unknown_user_iterations=self.config.scram_iterations,
        )
        assert machine is not None
        step = machine.start(initial_response)
        while True:
            if isinstance(step, Challenge):
                answer = await exchange(step.data)
                if answer is None:
                    raise MailError(Kind.INVALID, "authentication cancelled")
                step = machine.step(answer)
            elif isinstance(step, NeedsScramCredentials):
                assert isinstance(machine, ScramSha256)
                creds = await self.scram_credentials(step.username)
                scram = None
                if creds is not None:
                    scram = ScramCredentials(
                        creds.scram_salt, creds.scram_iterations, creds.scram_stored_key, creds.scram_server_key
                    )
                step = machine.provide_credentials(scram)
            elif isinstance(step, NeedsPassword):
                if step.authzid is not None and not _same_user(step.authzid, step.authcid):
                    await self.record_failure(client_ip)
                    raise MailError(Kind.AUTH_FAILED, "authorization identity refused")
                return AuthResult(await self.check_password(step.authcid, step.password, client_ip), name)
            elif isinstance(step, Success):
                found = await self.store.get_account(step.authcid.strip().lower())
                if found is None or (step.authzid is not None and not _same_user(step.authzid, step.authcid)):
                    await self.record_failure(client_ip)
                    raise MailError(Kind.AUTH_FAILED, "authentication failed")
                account = found
                if step.server_final is not None and not send_final:
                    await self._record_success(client_ip, account)
                    return AuthResult(account, name, step.server_final)
                if step.server_final is not None:
                    # RFC 5802 §5 / RFC 4954 §4: the server-final message travels as a last
                    # challenge; the client answers with an empty response.
                    answer = await exchange(step.server_final)
                    if answer is None:
                        raise MailError(Kind.INVALID, "authentication cancelled")
                    if answer != b"":
                        await self.record_failure(client_ip)
                        raise MailError(Kind.AUTH_FAILED, "unexpected data after server-final")
                await self._record_success(client_ip, account)
                return AuthResult(account, name)
            else:
                assert isinstance(step, Failure)
                await self.record_failure(client_ip)
                raise MailError(Kind.AUTH_FAILED, "authentication failed")


def _same_user(a: str, b: str) -> bool:
    return hmac.compare_digest(a.strip().lower().encode("utf-8"), b.strip().lower().encode("utf-8"))
