"""Authenticator: password checks, the growing failure delay, plain-text policy, SASL runs."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable

import pytest
from argon2 import PasswordHasher

from postoffice.clock import ManualClock
from postoffice.config import AuthConfig
from postoffice.errors import Kind, MailError
from postoffice.mail.auth import Authenticator, fast_hasher, make_credentials, verify_password
from postoffice.store.api import Account, Credentials
from postoffice.wire.sasl import ScramClient, scram_keys

HASHER = fast_hasher()


class FakeStore:
    """Just the account part of the Store protocol."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.creds: dict[int, Credentials] = {}
        self.lookups: list[str] = []

    def add(self, address: str, password: str) -> Account:
        account = Account(len(self.accounts) + 1, address, 0.0)
        self.accounts[address] = account
        self.creds[account.id] = make_credentials(password, hasher=HASHER)
        return account

    async def get_account(self, address: str) -> Account | None:
        self.lookups.append(address)
        return self.accounts.get(address)

    async def get_credentials(self, account_id: int) -> Credentials | None:
        return self.creds.get(account_id)


CONFIG = AuthConfig(failure_delay=2.0, failure_delay_max=15.0, failure_window=900.0)


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    s.add("alice@example.test", "correct horse")
    return s


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def auth(store: FakeStore, clock: ManualClock) -> Authenticator:
    return Authenticator(store, CONFIG, clock, hasher=HASHER)  # type: ignore[arg-type]


# ---- credentials ---------------------------------------------------------------------


def test_make_credentials_holds_no_clear_password_and_matching_scram_keys() -> None:
    creds = make_credentials("pencil", 4096, hasher=HASHER, salt=b"s" * 16)
    assert "pencil" not in repr(creds)
    assert creds.argon2_hash.startswith("$argon2id$")
    assert (creds.scram_stored_key, creds.scram_server_key) == scram_keys("pencil", b"s" * 16, 4096)
    assert verify_password(creds, "pencil", hasher=HASHER)
    assert not verify_password(creds, "Pencil", hasher=HASHER)


def test_default_hasher_is_argon2id_with_library_defaults() -> None:
    creds = make_credentials("pw", 1)
    assert creds.argon2_hash.startswith("$argon2id$") and verify_password(creds, "pw")


def test_password_is_normalised_nfkc() -> None:
    creds = make_credentials("\u2168-pass", hasher=HASHER)  # ROMAN NUMERAL NINE
    assert verify_password(creds, "IX-pass", hasher=HASHER)


def test_broken_hash_is_just_a_mismatch() -> None:
    creds = make_credentials("pw", hasher=HASHER)
    broken = Credentials("not-a-hash", creds.scram_salt, 1, b"", b"")
    assert not verify_password(broken, "pw", hasher=HASHER)


def test_default_verification_agrees_with_argon2_cffi() -> None:
    # The default check (libsodium) on hashes argon2-cffi made: ours, and one with p=2.
    creds = make_credentials("pencil")
    assert verify_password(creds, "pencil")
    assert not verify_password(creds, "Pencil")
    other = PasswordHasher(time_cost=1, memory_cost=64, parallelism=2).hash("pencil")
    assert verify_password(Credentials(other, creds.scram_salt, 1, b"", b""), "pencil")
    assert not verify_password(Credentials(other, creds.scram_salt, 1, b"", b""), "pencil!")
    assert not verify_password(Credentials("$argon2id$v=19$garbage", creds.scram_salt, 1, b"", b""), "pencil")


# ---- check_password and the delay ------------------------------------------------------


async def test_right_password_returns_account_without_delay(auth: Authenticator, clock: ManualClock) -> None:
    account = await auth.check_password("Alice@Example.TEST", "correct horse", "192.0.2.1")
    assert account.address == "alice@example.test"
    assert clock.slept == []


async def test_wrong_password_waits_then_fails_and_delay_doubles_to_max(auth: Authenticator, clock: ManualClock) -> None:
    for _ in range(5):
        with pytest.raises(MailError) as err:
            await auth.check_password("alice@example.test", "wrong", "192.0.2.1")
        assert err.value.kind is Kind.AUTH_FAILED
    assert clock.slept == [2.0, 4.0, 8.0, 15.0, 15.0]
    # Another address is not slowed by the first one.
    with pytest.raises(MailError):
        await auth.check_password("alice@example.test", "wrong", "192.0.2.99")
    assert clock.slept[-1] == 2.0


async def test_unknown_user_same_delay_and_error_as_wrong_password(auth: Authenticator, clock: ManualClock, store: FakeStore) -> None:
    with pytest.raises(MailError) as unknown:
        await auth.check_password("nobody@example.test", "x", "192.0.2.1")
    with pytest.raises(MailError) as wrong:
        await auth.check_password("alice@example.test", "x", "192.0.2.2")
    assert unknown.value.kind is wrong.value.kind is Kind.AUTH_FAILED
    assert str(unknown.value) == str(wrong.value)
    assert clock.slept == [2.0, 2.0]
    assert store.lookups[0] == "nobody@example.test"


async def test_success_resets_the_delay(auth: Authenticator, clock: ManualClock) -> None:
    for _ in range(3):
        with pytest.raises(MailError):
            await auth.check_password("alice@example.test", "bad", "192.0.2.1")
    await auth.check_password("alice@example.test", "correct horse", "192.0.2.1")
    assert await auth.failure_delay_for("192.0.2.1") == 2.0


async def test_failures_are_forgotten_after_the_window(auth: Authenticator, clock: ManualClock) -> None:
    for _ in range(3):
        with pytest.raises(MailError):
            await auth.check_password("alice@example.test", "bad", "192.0.2.1")
    assert await auth.failure_delay_for("192.0.2.1") == 15.0
    clock.advance(CONFIG.failure_window + 1)
    assert await auth.failure_delay_for("192.0.2.1") == 2.0


async def test_record_failure_for_protocol_driven_failures(auth: Authenticator, clock: ManualClock) -> None:
    assert await auth.record_failure("198.51.100.7") == 2.0
    assert await auth.failure_delay_for("198.51.100.7") == 4.0
    assert clock.slept == [2.0]


def test_plaintext_allowed(store: FakeStore, clock: ManualClock) -> None:
    auth = Authenticator(store, AuthConfig(), clock, hasher=HASHER)  # type: ignore[arg-type]
    assert auth.plaintext_allowed("127.0.0.1", tls=False)
    assert auth.plaintext_allowed("::1", tls=False)
    assert not auth.plaintext_allowed("192.0.2.1", tls=False)
    assert auth.plaintext_allowed("192.0.2.1", tls=True)
    strict = Authenticator(store, AuthConfig(trusted_networks=()), clock, hasher=HASHER)  # type: ignore[arg-type]
    assert not strict.plaintext_allowed("127.0.0.1", tls=False)
    assert strict.mechanisms("127.0.0.1", tls=False) == ["SCRAM-SHA-256"]
    assert strict.mechanisms("127.0.0.1", tls=True) == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]


async def test_scram_credentials_lookup(auth: Authenticator) -> None:
    assert await auth.scram_credentials("nobody@example.test") is None
    creds = await auth.scram_credentials("ALICE@example.test")
    assert creds is not None and creds.scram_iterations == 4096


# ---- whole SASL exchanges --------------------------------------------------------------


def scripted(answers: list[bytes | None], seen: list[bytes]) -> Callable[[bytes], Awaitable[bytes | None]]:
    async def exchange(challenge: bytes) -> bytes | None:
        seen.append(challenge)
        return answers.pop(0)

    return exchange


async def test_authenticate_plain_with_initial_response(auth: Authenticator) -> None:
    seen: list[bytes] = []
    result = await auth.authenticate(
        "plain", b"\x00alice@example.test\x00correct horse", scripted([], seen), client_ip="192.0.2.1", tls=True
    )
    assert result.account.address == "alice@example.test" and result.mechanism == "PLAIN" and seen == []


async def test_authenticate_login_wrong_password(auth: Authenticator, clock: ManualClock) -> None:
    seen: list[bytes] = []
    with pytest.raises(MailError) as err:
        await auth.authenticate("LOGIN", None, scripted([b"alice@example.test", b"nope"], seen), client_ip="192.0.2.1", tls=True)
    assert err.value.kind is Kind.AUTH_FAILED
    assert seen == [b"Username:", b"Password:"] and clock.slept == [2.0]


async def test_authenticate_plain_refused_without_tls_outside_trusted_networks(auth: Authenticator) -> None:
    with pytest.raises(MailError) as err:
        await auth.authenticate("PLAIN", b"\x00alice@example.test\x00correct horse", scripted([], []), client_ip="192.0.2.1", tls=False)
    assert err.value.kind is Kind.ENCRYPTION_REQUIRED


async def test_authenticate_plain_other_authzid_refused(auth: Authenticator) -> None:
    with pytest.raises(MailError) as err:
        await auth.authenticate("PLAIN", b"bob@example.test\x00alice@example.test\x00correct horse", scripted([], []), client_ip="192.0.2.1", tls=True)
    assert err.value.kind is Kind.AUTH_FAILED
    same = await auth.authenticate("PLAIN", b"ALICE@example.test\x00alice@example.test\x00correct horse", scripted([], []), client_ip="192.0.2.1", tls=True)
    assert same.account.address == "alice@example.test"


async def test_authenticate_cancel_and_unknown_mechanism(auth: Authenticator) -> None:
    with pytest.raises(MailError) as err:
        await auth.authenticate("LOGIN", None, scripted([None], []), client_ip="192.0.2.1", tls=True)
    assert err.value.kind is Kind.INVALID
    with pytest.raises(MailError) as err:
        await auth.authenticate("CRAM-MD5", None, scripted([], []), client_ip="192.0.2.1", tls=True)
    assert err.value.kind is Kind.INVALID


async def test_authenticate_scram_full_exchange_without_tls(auth: Authenticator, clock: ManualClock) -> None:
    client = ScramClient("alice@example.test", "correct horse")
    seen: list[bytes] = []

    async def exchange(challenge: bytes) -> bytes | None:
        seen.append(challenge)
        if challenge.startswith(b"r="):
            return client.final(challenge)
        assert client.verify(challenge)  # server-final proves the server knows the keys
        return b""

    result = await auth.authenticate("SCRAM-SHA-256", client.first(), exchange, client_ip="192.0.2.1", tls=False)
    assert result.account.address == "alice@example.test"
    assert len(seen) == 2 and seen[1].startswith(b"v=")
    assert clock.slept == []


async def test_authenticate_scram_final_in_success_data(auth: Authenticator) -> None:
    client = ScramClient("alice@example.test", "correct horse")

    async def exchange(challenge: bytes) -> bytes | None:
        return client.final(challenge)

    result = await auth.authenticate("SCRAM-SHA-256", client.first(), exchange, client_ip="192.0.2.1", tls=False, send_final=False)
    assert result.server_final is not None and client.verify(result.server_final)


@pytest.mark.parametrize("username,password", [("alice@example.test", "wrong"), ("ghost@example.test", "x")])
async def test_authenticate_scram_bad_proof_or_unknown_user(auth: Authenticator, clock: ManualClock, username: str, password: str) -> None:
    client = ScramClient(username, password)

    async def exchange(challenge: bytes) -> bytes | None:
        return client.final(challenge)

    with pytest.raises(MailError) as err:
        await auth.authenticate("SCRAM-SHA-256", client.first(), exchange, client_ip="192.0.2.1", tls=False)
    assert err.value.kind is Kind.AUTH_FAILED and clock.slept == [2.0]


async def test_authenticate_malformed_base64_is_the_protocols_business(auth: Authenticator) -> None:
    # The protocol decodes base64; a decoded garbage answer is simply a failed exchange.
    garbage = base64.b64decode("////")
    with pytest.raises(MailError) as err:
        await auth.authenticate("SCRAM-SHA-256", garbage, scripted([], []), client_ip="192.0.2.1", tls=False)
    assert err.value.kind is Kind.AUTH_FAILED


async def test_with_the_memory_store(clock: ManualClock) -> None:
    memory = pytest.importorskip("postoffice.store.memory")
    store = memory.MemoryStore()
    await store.add_account("carol@example.test", make_credentials("s3cret", hasher=HASHER))
    auth = Authenticator(store, CONFIG, clock, hasher=HASHER)
    assert (await auth.check_password("Carol@example.test", "s3cret", "192.0.2.1")).address == "carol@example.test"
    with pytest.raises(MailError):
        await auth.check_password("carol@example.test", "nope", "192.0.2.1")
    client = ScramClient("carol@example.test", "s3cret")

    async def exchange(challenge: bytes) -> bytes | None:
        return client.final(challenge) if challenge.startswith(b"r=") else b""

    result = await auth.authenticate("SCRAM-SHA-256", client.first(), exchange, client_ip="192.0.2.1", tls=False)
    assert result.account.address == "carol@example.test"


async def test_unknown_user_still_runs_an_argon2_verify(store: FakeStore, clock: ManualClock) -> None:
    class CountingHasher(type(HASHER)):  # type: ignore[misc]
        verifies = 0

        def verify(self, hash: str, password: str | bytes) -> bool:  # noqa: A002
            CountingHasher.verifies += 1
            return bool(super().verify(hash, password))

    auth = Authenticator(store, CONFIG, clock, hasher=CountingHasher(time_cost=1, memory_cost=8, parallelism=1))  # type: ignore[arg-type]
    with pytest.raises(MailError):
        await auth.check_password("nobody@example.test", "pw", "192.0.2.1")
    assert CountingHasher.verifies == 1
