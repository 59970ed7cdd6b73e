"""SASL mechanisms as pure server-side state machines: PLAIN, LOGIN, SCRAM-SHA-256.

This module owns the SASL *exchange*, never its framing or its policy:

- No I/O, no store, no base64 framing. A protocol (SMTP AUTH, IMAP AUTHENTICATE,
  POP3 AUTH) decodes the client's base64 line (and handles the "*" cancel itself,
  RFC 4954 §4, RFC 9051 §6.2.2, RFC 5034 §4), feeds the raw bytes in, and encodes
  every :class:`Challenge` it gets back.
- Every mechanism has the same shape: ``start(initial_response)`` and then
  ``step(client_data)`` return a :class:`Step`. Malformed input gives
  :class:`Failure`, never an exception. After a terminal step (:class:`Success`,
  :class:`NeedsPassword`, :class:`Failure`) the machine answers ``Failure`` forever.
- Password mechanisms (PLAIN, LOGIN) end in :class:`NeedsPassword`: the caller checks
  the password (``mail.auth``) and decides; the machine never sees a stored secret.
- SCRAM-SHA-256 (RFC 5802 + RFC 7677) needs stored keys: it returns
  :class:`NeedsScramCredentials` and is resumed with ``provide_credentials()``.
  Channel binding is not offered: gs2 flags "n" and "y" are accepted, "p" refused.
  The server nonce comes from an injectable source so tests replay RFC vectors.

Also here, because both sides of SCRAM need them: ``saslprep`` (the password
normalisation used everywhere a password is hashed), ``scram_keys`` and a small
client (:class:`ScramClient`) used by tests and by our own SMTP client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Challenge",
    "Success",
    "NeedsPassword",
    "NeedsScramCredentials",
    "Failure",
    "Step",
    "ScramCredentials",
    "Mechanism",
    "Plain",
    "Login",
    "ScramSha256",
    "ScramClient",
    "MECHANISMS",
    "PLAINTEXT_MECHANISMS",
    "new_mechanism",
    "saslprep",
    "scram_keys",
]


# ---- steps ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Challenge:
    """Send ``data`` to the client (the protocol base64-encodes it) and wait for an answer."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Success:
    """Authenticated. ``server_final`` (SCRAM "v=...") must reach the client before success.

    The protocol sends ``server_final`` as one more challenge and expects an empty answer
    (SMTP, POP3) or as additional data with success where the protocol allows it (IMAP).
    """

    authcid: str
    authzid: str | None
    server_final: bytes | None = None


@dataclass(frozen=True, slots=True)
class NeedsPassword:
    """Terminal for PLAIN/LOGIN: the caller verifies ``password`` for ``authcid``."""

    authcid: str
    authzid: str | None
    password: str


@dataclass(frozen=True, slots=True)
class NeedsScramCredentials:
    """SCRAM wants the stored keys of ``username``: call ``provide_credentials``."""

    username: str
    authzid: str | None


@dataclass(frozen=True, slots=True)
class Failure:
    """The exchange failed; ``reason`` is for logs (RFC 5802 server-error names for SCRAM)."""

    reason: str


Step = Challenge | Success | NeedsPassword | NeedsScramCredentials | Failure


@dataclass(frozen=True, slots=True)
class ScramCredentials:
    """What the server stores for SCRAM-SHA-256 (RFC 5802 §3): never the password."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


# ---- helpers ---------------------------------------------------------------------------

# RFC 3454 C.1.2 non-ASCII space characters, mapped to SPACE by SASLprep (RFC 4013 §2.1).
_NON_ASCII_SPACE = frozenset(
    "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u202f\u205f\u3000"
)
# RFC 3454 B.1 "commonly mapped to nothing", removed by SASLprep (RFC 4013 §2.1).
_MAPPED_TO_NOTHING = frozenset(
    "\u00ad\u034f\u1806\u180b\u180c\u180d\u200b\u200c\u200d\u2060"
    "\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff"
)


def saslprep(text: str) -> str:
    """SASLprep-ish normalisation (RFC 4013 §2.1-2.2): map spaces, drop ignorables, NFKC.

    Deliberately lenient: the prohibited-output and bidi checks of RFC 4013 §2.3-2.4
    are not applied, so no password is ever refused here; what matters is that the
    same function runs when a password is stored and when it is presented (PLAIN,
    LOGIN, USER/PASS and SCRAM alike). Pure ASCII passes through unchanged.
    """
    if text.isascii():
        return text
    mapped = "".join(" " if ch in _NON_ASCII_SPACE else ch for ch in text if ch not in _MAPPED_TO_NOTHING)
    return unicodedata.normalize("NFKC", mapped)


def scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) for ``password`` (RFC 5802 §3); the password is SASLprep'd."""
    salted = hashlib.pbkdf2_hmac("sha256", saslprep(password).encode("utf-8"), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    return hashlib.sha256(client_key).digest(), server_key


def _default_nonce() -> str:
    # RFC 5802 §5.1: printable characters except ","; base64 never contains ",".
    return base64.b64encode(secrets.token_bytes(18)).decode("ascii")


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# RFC 5802 §5.1 saslname: "=" only as "=2C" (",") or "=3D" ("=").
def _decode_saslname(value: str) -> str | None:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == ",":
            return None
        if ch == "=":
            code = value[i : i + 3]
            if code == "=2C":
                out.append(",")
            elif code == "=3D":
                out.append("=")
            else:
                return None
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _encode_saslname(value: str) -> str:
    return value.replace("=", "=3D").replace(",", "=2C")


def _attributes(message: str) -> list[tuple[str, str]] | None:
    """``a=v,b=w`` -> [(a, v), (b, w)]; None if an attribute is malformed."""
    out: list[tuple[str, str]] = []
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=" or not part[0].isalpha():
            return None
        out.append((part[0], part[2:]))
    return out


# ---- the mechanisms --------------------------------------------------------------------


class Mechanism:
    """Common shape of a server-side SASL mechanism."""

    name: str = ""
    plaintext: bool = False  # the client sends the password itself (needs TLS or trust)

    def __init__(self) -> None:
        self._done = False

    def start(self, initial_response: bytes | None) -> Step:
        """Begin; ``initial_response`` is the client's SASL-IR (b"" for "=") or None."""
        raise NotImplementedError

    def step(self, client_data: bytes) -> Step:
        """The client's (base64-decoded) answer to the last challenge."""
        raise NotImplementedError

    def _finish(self, result: Step) -> Step:
        if not isinstance(result, Challenge | NeedsScramCredentials):
            self._done = True
        return result


class Plain(Mechanism):
    """PLAIN (RFC 4616): ``[authzid] NUL authcid NUL passwd`` in one message."""

    name = "PLAIN"
    plaintext = True

    def __init__(self) -> None:
        super().__init__()
        self._started = False

    def start(self, initial_response: bytes | None) -> Step:
        if self._started or self._done:
            return self._finish(Failure("already started"))
        self._started = True
        if initial_response is None:
            # RFC 4616 §2: the server sends an empty challenge when there is no initial response.
            return Challenge(b"")
        # RFC 4954 §4: "=" is an initial response of zero length, an empty (so malformed)
        # PLAIN message: refused at once, not answered with a challenge.
        return self._parse(initial_response)

    def step(self, client_data: bytes) -> Step:
        if not self._started or self._done:
            return self._finish(Failure("unexpected data"))
        return self._parse(client_data)

    def _parse(self, message: bytes) -> Step:
        parts = message.split(b"\x00")
        if len(parts) != 3:
            return self._finish(Failure("malformed PLAIN message"))
        texts = [_utf8(p) for p in parts]
        authzid, authcid, password = texts
        if authzid is None or authcid is None or password is None:
            return self._finish(Failure("PLAIN message is not UTF-8"))
        # RFC 4616 §2: authcid and passwd are non-empty, at most 255 octets each.
        if not authcid or not password or len(parts[1]) > 255 or len(parts[2]) > 255 or len(parts[0]) > 255:
            return self._finish(Failure("empty or overlong PLAIN field"))
        return self._finish(NeedsPassword(authcid, authzid or None, password))


class Login(Mechanism):
    """LOGIN (draft-murchison-sasl-login): "Username:" then "Password:" challenges.

    An initial response, where a client sends one, is taken as the username.
    """

    name = "LOGIN"
    plaintext = True

    def __init__(self) -> None:
        super().__init__()
        self._state = "new"  # new -> user -> password -> done
        self._username = ""

    def start(self, initial_response: bytes | None) -> Step:
        if self._state != "new":
            return self._finish(Failure("already started"))
        if initial_response is not None:  # b"": an empty username, refused
            self._state = "user"
            return self.step(initial_response)
        self._state = "user"
        return Challenge(b"Username:")

    def step(self, client_data: bytes) -> Step:
        text = _utf8(client_data)
        if self._done or self._state == "new":
            return self._finish(Failure("unexpected data"))
        if text is None:
            return self._finish(Failure("LOGIN data is not UTF-8"))
        if self._state == "user":
            if not text or "\x00" in text:
                return self._finish(Failure("empty username"))
            self._username = text
            self._state = "password"
            return Challenge(b"Password:")
        self._state = "done"
        if not text:
            return self._finish(Failure("empty password"))
        return self._finish(NeedsPassword(self._username, None, text))


class ScramSha256(Mechanism):
    """SCRAM-SHA-256 server (RFC 5802 §5, RFC 7677), without channel binding.

    start(client-first) -> NeedsScramCredentials(username)
    provide_credentials(creds) -> Challenge(server-first)
    step(client-final) -> Success(server_final=b"v=...") | Failure("invalid-proof")

    ``provide_credentials(None)`` (unknown user) goes on with keys made up from
    ``unknown_user_secret`` so the exchange looks the same and fails only at the proof
    (RFC 5802 §5.1: the server SHOULD NOT reveal that the user does not exist).
    """

    name = "SCRAM-SHA-256"
    plaintext = False

    def __init__(
        self,
        *,
        nonce: Callable[[], str] = _default_nonce,
        unknown_user_secret: bytes = b"",
        unknown_user_iterations: int = 4096,
    ) -> None:
        super().__init__()
        self._nonce_source = nonce
        self._unknown_secret = unknown_user_secret or secrets.token_bytes(32)
        self._unknown_iterations = unknown_user_iterations
        self._state = "new"  # new -> creds -> final -> done
        self._gs2_header = ""
        self._client_first_bare = ""
        self._client_nonce = ""
        self._username = ""
        self._authzid: str | None = None
        self._server_first = ""
        self._nonce = ""
        self._creds: ScramCredentials | None = None

    def start(self, initial_response: bytes | None) -> Step:
        if self._state != "new":
            return self._finish(Failure("already started"))
        if initial_response is None:
            # RFC 5802 §5: the client speaks first; ask for it with an empty challenge.
            self._state = "first"
            return Challenge(b"")
        return self._client_first(initial_response)

    def step(self, client_data: bytes) -> Step:
        if self._state == "first":
            return self._client_first(client_data)
        if self._state == "final":
            return self._client_final(client_data)
        return self._finish(Failure("unexpected data"))

    def _client_first(self, data: bytes) -> Step:
        self._state = "bad"
        text = _utf8(data)
        if text is None:
            return self._finish(Failure("invalid-encoding"))
        # gs2-header = gs2-cbind-flag "," [ authzid ] ","   (RFC 5802 §7)
        fields = text.split(",", 2)
        if len(fields) != 3:
            return self._finish(Failure("invalid-encoding"))
        flag, authz, bare = fields
        if flag.startswith("p="):
            # We advertise no -PLUS variant, so channel binding cannot be used.
            return self._finish(Failure("channel-binding-not-supported"))
        if flag not in ("n", "y"):
            return self._finish(Failure("invalid-encoding"))
        authzid: str | None = None
        if authz:
            if not authz.startswith("a="):
                return self._finish(Failure("invalid-encoding"))
            authzid = _decode_saslname(authz[2:])
            if not authzid:
                return self._finish(Failure("invalid-encoding"))
        attrs = _attributes(bare)
        if attrs is None or len(attrs) < 2:
            return self._finish(Failure("invalid-encoding"))
        if attrs[0][0] == "m":
            # RFC 5802 §5.1: a mandatory extension we do not know means failure.
            return self._finish(Failure("extensions-not-supported"))
        if attrs[0][0] != "n" or attrs[1][0] != "r":
            return self._finish(Failure("invalid-encoding"))
        username = _decode_saslname(attrs[0][1])
        nonce = attrs[1][1]
        if not username:
            return self._finish(Failure("invalid-username-encoding"))
        if not nonce or not all(0x21 <= ord(c) <= 0x7E and c != "," for c in nonce):
            return self._finish(Failure("invalid-encoding"))
        self._gs2_header = f"{flag},{authz},"
        self._client_first_bare = bare
        self._client_nonce = nonce
        self._username = username
        self._authzid = authzid
        self._state = "creds"
        return NeedsScramCredentials(username, authzid)

    def provide_credentials(self, credentials: ScramCredentials | None) -> Step:
        """Resume after :class:`NeedsScramCredentials`; None for an unknown user."""
        if self._state != "creds":
            return self._finish(Failure("unexpected credentials"))
        if credentials is None:
            fake = hmac.digest(self._unknown_secret, self._username.encode("utf-8"), "sha256")
            credentials = ScramCredentials(
                salt=fake[:16],
                iterations=self._unknown_iterations,
                stored_key=secrets.token_bytes(32),  # no proof can match this
                server_key=secrets.token_bytes(32),
            )
        self._creds = credentials
        server_nonce = self._nonce_source()
        if not server_nonce or "," in server_nonce:
            return self._finish(Failure("server nonce is not printable"))
        self._nonce = self._client_nonce + server_nonce
        salt = base64.b64encode(credentials.salt).decode("ascii")
        self._server_first = f"r={self._nonce},s={salt},i={credentials.iterations}"
        self._state = "final"
        return Challenge(self._server_first.encode("ascii"))

    def _client_final(self, data: bytes) -> Step:
        self._state = "done"
        creds = self._creds
        assert creds is not None
        text = _utf8(data)
        if text is None:
            return self._finish(Failure("invalid-encoding"))
        # client-final-message = channel-binding "," nonce ["," extensions] "," proof (RFC 5802 §7)
        head, sep, proof_attr = text.rpartition(",")
        if not sep or not proof_attr.startswith("p="):
            return self._finish(Failure("invalid-encoding"))
        attrs = _attributes(head)
        if attrs is None or len(attrs) < 2 or attrs[0][0] != "c" or attrs[1][0] != "r":
            return self._finish(Failure("invalid-encoding"))
        try:
            cbind = base64.b64decode(attrs[0][1], validate=True)
            proof = base64.b64decode(proof_attr[2:], validate=True)
        except (binascii.Error, ValueError):
            return self._finish(Failure("invalid-encoding"))
        # Without channel binding, c= carries exactly the gs2 header (RFC 5802 §7 cbind-input).
        if cbind != self._gs2_header.encode("utf-8"):
            return self._finish(Failure("channel-bindings-dont-match"))
        if attrs[1][1] != self._nonce:
            return self._finish(Failure("other-error: nonce mismatch"))
        if len(proof) != 32:
            return self._finish(Failure("invalid-proof"))
        auth_message = f"{self._client_first_bare},{self._server_first},{head}".encode()
        client_signature = hmac.digest(creds.stored_key, auth_message, "sha256")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), creds.stored_key):
            return self._finish(Failure("invalid-proof"))
        server_signature = hmac.digest(creds.server_key, auth_message, "sha256")
        final = b"v=" + base64.b64encode(server_signature)
        return self._finish(Success(self._username, self._authzid, final))


class ScramClient:
    """Client side of SCRAM-SHA-256 without channel binding (for tests and our SMTP client)."""

    def __init__(self, username: str, password: str, *, nonce: str | None = None, authzid: str | None = None) -> None:
        self.username = username
        self.password = password
        self.nonce = nonce or _default_nonce()
        self.gs2_header = "n," + (f"a={_encode_saslname(authzid)}" if authzid else "") + ","
        self.client_first_bare = f"n={_encode_saslname(username)},r={self.nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return (self.gs2_header + self.client_first_bare).encode("utf-8")

    def final(self, server_first: bytes) -> bytes:
        """The client-final message; raises ValueError if server-first is malformed."""
        text = server_first.decode("utf-8")
        attrs = dict(_attributes(text) or [])
        nonce, salt_b64, iterations = attrs.get("r", ""), attrs.get("s", ""), attrs.get("i", "")
        if not nonce.startswith(self.nonce) or not salt_b64 or not iterations.isdigit():
            raise ValueError("malformed server-first message")
        salt = base64.b64decode(salt_b64)
        salted = hashlib.pbkdf2_hmac("sha256", saslprep(self.password).encode("utf-8"), salt, int(iterations))
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        cbind = base64.b64encode(self.gs2_header.encode("utf-8")).decode("ascii")
        without_proof = f"c={cbind},r={nonce}"
        auth_message = f"{self.client_first_bare},{text},{without_proof}".encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = hmac.digest(server_key, auth_message, "sha256")
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode("ascii")

    def verify(self, server_final: bytes) -> bool:
        """True when the server proved it knows the keys (RFC 5802 §3 ServerSignature)."""
        if not server_final.startswith(b"v=") or not self._server_signature:
            return False
        try:
            got = base64.b64decode(server_final[2:], validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(got, self._server_signature)


# Offered in this order of preference (SCRAM first: no password on the wire).
MECHANISMS: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
PLAINTEXT_MECHANISMS: frozenset[str] = frozenset({"PLAIN", "LOGIN"})


def new_mechanism(
    name: str,
    *,
    nonce: Callable[[], str] | None = None,
    unknown_user_secret: bytes = b"",
    unknown_user_iterations: int = 4096,
) -> Mechanism | None:
    """A fresh server machine for ``name`` (case-insensitive), or None if unsupported.

    ``unknown_user_iterations`` should be the iteration count real accounts get, so a
    made-up server-first message for an unknown user looks like a real one.
    """
    upper = name.upper()
    if upper == "PLAIN":
        return Plain()
    if upper == "LOGIN":
        return Login()
    if upper == "SCRAM-SHA-256":
        return ScramSha256(
            nonce=nonce or _default_nonce,
            unknown_user_secret=unknown_user_secret,
            unknown_user_iterations=unknown_user_iterations,
        )
    return None
