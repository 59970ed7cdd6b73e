"""SASL state machines: RFC 4616 PLAIN examples, LOGIN, and the RFC 7677 §3 SCRAM-SHA-256 exchange."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postoffice.wire.sasl import (
    Challenge,
    Failure,
    Login,
    NeedsPassword,
    NeedsScramCredentials,
    Plain,
    ScramClient,
    ScramCredentials,
    ScramSha256,
    Success,
    new_mechanism,
    saslprep,
    scram_keys,
)

# ---- PLAIN (RFC 4616) ----------------------------------------------------------------


def test_plain_rfc4616_example_without_authzid() -> None:
    # RFC 4616 §4: "\0tim\0tanstaaftanstaaf"
    step = Plain().start(b"\x00tim\x00tanstaaftanstaaf")
    assert step == NeedsPassword("tim", None, "tanstaaftanstaaf")


def test_plain_rfc4616_example_with_authzid() -> None:
    # RFC 4616 §4: "Ursel\0Kurt\0xipj3plmq"
    step = Plain().start(b"Ursel\x00Kurt\x00xipj3plmq")
    assert step == NeedsPassword("Kurt", "Ursel", "xipj3plmq")


def test_plain_without_initial_response_sends_empty_challenge() -> None:
    mech = Plain()
    assert mech.start(None) == Challenge(b"")
    assert mech.step(b"\x00alice@example.test\x00s\xc3\xa9cret") == NeedsPassword("alice@example.test", None, "sécret")
    assert isinstance(mech.step(b"\x00again\x00pw"), Failure)  # terminal


@pytest.mark.parametrize(
    "message",
    [b"", b"no-nuls", b"\x00only-one", b"a\x00b\x00c\x00d", b"\x00\x00pw", b"\x00user\x00", b"\x00\xff\x00pw", b"\x00" + b"u" * 256 + b"\x00pw"],
)
def test_plain_malformed_gives_failure(message: bytes) -> None:
    mech = Plain()
    mech.start(None)
    assert isinstance(mech.step(message), Failure)


# ---- LOGIN ---------------------------------------------------------------------------


def test_login_challenges_username_then_password() -> None:
    mech = Login()
    assert mech.start(None) == Challenge(b"Username:")
    assert mech.step(b"bob@example.test") == Challenge(b"Password:")
    assert mech.step(b"hunter2") == NeedsPassword("bob@example.test", None, "hunter2")
    assert isinstance(mech.step(b"more"), Failure)


def test_login_initial_response_is_the_username() -> None:
    mech = Login()
    assert mech.start(b"bob") == Challenge(b"Password:")
    assert mech.step(b"pw") == NeedsPassword("bob", None, "pw")


@pytest.mark.parametrize("answers", [[b""], [b"\xff"], [b"bob", b""], [b"bob", b"\xfe\xfe"]])
def test_login_bad_answers_fail(answers: list[bytes]) -> None:
    mech = Login()
    mech.start(None)
    steps = [mech.step(a) for a in answers]
    assert isinstance(steps[-1], Failure)


# ---- SCRAM-SHA-256 (RFC 7677 §3) -----------------------------------------------------

RFC_CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
RFC_SERVER_FIRST = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
RFC_CLIENT_FINAL = b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
RFC_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
RFC_SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"


def rfc_credentials() -> ScramCredentials:
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    stored, server = scram_keys("pencil", salt, 4096)
    return ScramCredentials(salt, 4096, stored, server)


def rfc_server() -> ScramSha256:
    return ScramSha256(nonce=lambda: RFC_SERVER_NONCE)


def test_scram_rfc7677_server_reproduces_exact_messages() -> None:
    mech = rfc_server()
    assert mech.start(RFC_CLIENT_FIRST) == NeedsScramCredentials("user", None)
    assert mech.provide_credentials(rfc_credentials()) == Challenge(RFC_SERVER_FIRST)
    assert mech.step(RFC_CLIENT_FINAL) == Success("user", None, RFC_SERVER_FINAL)


def test_scram_rfc7677_client_reproduces_exact_messages() -> None:
    client = ScramClient("user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.first() == RFC_CLIENT_FIRST
    assert client.final(RFC_SERVER_FIRST) == RFC_CLIENT_FINAL
    assert client.verify(RFC_SERVER_FINAL)
    assert not client.verify(b"v=" + base64.b64encode(b"x" * 32))


def test_scram_without_initial_response_asks_for_client_first() -> None:
    mech = rfc_server()
    assert mech.start(None) == Challenge(b"")
    assert mech.step(RFC_CLIENT_FIRST) == NeedsScramCredentials("user", None)


def test_scram_wrong_password_is_invalid_proof() -> None:
    mech = rfc_server()
    mech.start(RFC_CLIENT_FIRST)
    server_first = mech.provide_credentials(rfc_credentials())
    assert isinstance(server_first, Challenge)
    client = ScramClient("user", "pen cil", nonce="rOprNGfwEbeRWgbNEkqO")
    client.first()
    step = mech.step(client.final(server_first.data))
    assert step == Failure("invalid-proof")


def test_scram_unknown_user_looks_alike_and_fails_at_proof() -> None:
    a, b = ScramSha256(unknown_user_secret=b"k"), ScramSha256(unknown_user_secret=b"k")
    firsts = []
    for mech in (a, b):
        mech.start(b"n,,n=ghost,r=abc")
        step = mech.provide_credentials(None)
        assert isinstance(step, Challenge)
        firsts.append(step.data.split(b",", 1)[1])
    assert firsts[0] == firsts[1]  # same salt and iterations every time: existence is not revealed
    client = ScramClient("ghost", "whatever", nonce="abc")
    client.first()
    server_first = b"r=abc" + b"x,s=" + firsts[0].split(b"s=", 1)[1]
    assert isinstance(a.step(client.final(server_first)), Failure)


def test_scram_roundtrip_with_authzid_and_y_flag_and_odd_username() -> None:
    creds = rfc_credentials()
    client = ScramClient("a,b=c", "pencil", authzid="a,b=c")
    mech = ScramSha256()
    first = client.first()
    assert b"n=a=2Cb=3Dc" in first
    assert mech.start(first) == NeedsScramCredentials("a,b=c", "a,b=c")
    server_first = mech.provide_credentials(creds)
    assert isinstance(server_first, Challenge)
    done = mech.step(client.final(server_first.data))
    assert isinstance(done, Success) and done.server_final is not None
    assert client.verify(done.server_final)
    # gs2 flag "y" (client supports binding, server advertised none) is accepted.
    mech = ScramSha256()
    assert isinstance(mech.start(b"y,,n=user,r=n1"), NeedsScramCredentials)


def test_scram_non_ascii_password_is_saslprepped_on_both_sides() -> None:
    salt = b"0123456789abcdef"
    stored, server = scram_keys("I\u00adX", salt, 4096)  # soft hyphen maps to nothing
    client = ScramClient("user", "IX")
    mech = ScramSha256()
    mech.start(client.first())
    sf = mech.provide_credentials(ScramCredentials(salt, 4096, stored, server))
    assert isinstance(sf, Challenge)
    assert isinstance(mech.step(client.final(sf.data)), Success)


@pytest.mark.parametrize(
    "client_first",
    [
        b"p=tls-unique,,n=user,r=abc",  # channel binding refused
        b"x,,n=user,r=abc",
        b"n,,m=ext,n=user,r=abc",
        b"n,,r=abc,n=user",
        b"n,,n=us=er,r=abc",
        b"n,,n=,r=abc",
        b"n,,n=user,r=",
        b"n,,n=user",
        b"n,b=x,n=user,r=abc",
        b"n,,",
        b"n",
        b"",
        b"\xff\xfe",
        b"n,,n=user,r=a b",
    ],
)
def test_scram_malformed_client_first_fails(client_first: bytes) -> None:
    mech = ScramSha256()
    step = mech.start(client_first) if client_first else (mech.start(None), mech.step(client_first))[1]
    assert isinstance(step, Failure)


@pytest.mark.parametrize(
    "client_final",
    [
        RFC_CLIENT_FINAL.replace(b"%hvYD", b"%hvYE"),  # wrong nonce
        RFC_CLIENT_FINAL.replace(b"c=biws", b"c=eSws"),  # gs2 header "y,," does not match "n,,"
        RFC_CLIENT_FINAL.replace(b"p=dHzb", b"p=dHzc"),  # bad proof
        RFC_CLIENT_FINAL.split(b",p=")[0],  # no proof
        RFC_CLIENT_FINAL.replace(b"p=dHzb", b"p=!!!!"),  # proof not base64
        b"c=biws,p=" + base64.b64encode(b"x" * 32),
        b"r=x,c=biws,p=abcd",
        b"garbage",
        b"",
        b"\xff",
    ],
)
def test_scram_malformed_or_wrong_client_final_fails(client_final: bytes) -> None:
    mech = rfc_server()
    mech.start(RFC_CLIENT_FIRST)
    mech.provide_credentials(rfc_credentials())
    assert isinstance(mech.step(client_final), Failure)
    assert isinstance(mech.step(RFC_CLIENT_FINAL), Failure)  # terminal: no second try


def test_scram_out_of_order_calls_fail() -> None:
    mech = ScramSha256()
    assert isinstance(mech.provide_credentials(rfc_credentials()), Failure)
    mech = ScramSha256()
    mech.start(RFC_CLIENT_FIRST)
    assert isinstance(mech.step(b"c=biws,r=x,p=abcd"), Failure)  # before credentials


@given(st.binary(max_size=200), st.binary(max_size=200))
def test_no_mechanism_raises_on_arbitrary_input(first: bytes, second: bytes) -> None:
    for name in ("PLAIN", "LOGIN", "SCRAM-SHA-256"):
        mech = new_mechanism(name)
        assert mech is not None
        step = mech.start(first or None)
        if isinstance(step, NeedsScramCredentials):
            assert isinstance(mech, ScramSha256)
            step = mech.provide_credentials(ScramCredentials(b"salt", 1, b"k" * 32, b"s" * 32))
        if isinstance(step, Challenge):
            mech.step(second)


def test_new_mechanism_names() -> None:
    assert isinstance(new_mechanism("plain"), Plain)
    assert isinstance(new_mechanism("scram-sha-256"), ScramSha256)
    assert new_mechanism("CRAM-MD5") is None
    assert new_mechanism("PLAIN").plaintext and not new_mechanism("SCRAM-SHA-256").plaintext  # type: ignore[union-attr]


def test_saslprep() -> None:
    assert saslprep("pencil") == "pencil"
    assert saslprep("I\u00adX") == "IX"  # RFC 4013 §3 example 1
    assert saslprep("\u2168") == "IX"  # RFC 4013 §3: roman numeral nine, NFKC
    assert saslprep("a\u00a0b") == "a b"
    assert saslprep("\u00aa") == "a"


@pytest.mark.parametrize("mechanism", [Plain, Login, ScramSha256])
def test_empty_initial_response_is_refused_at_once(mechanism: type[Plain | Login | ScramSha256]) -> None:
    # RFC 4954 §4 / RFC 4959 §3: "=" is an initial response of zero length, which no
    # mechanism here accepts: a Failure, never a challenge asking again.
    assert isinstance(mechanism().start(b""), Failure)
