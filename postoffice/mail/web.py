"""What the webmail needs from mail/ beyond MailService: sessions, message pages, conversations.

Sessions are kept on the server (``store.web.WebSessionStore``) so a user can list
them and end any of them ("sign out everywhere"); the browser holds only a random
token whose SHA-256 names the session row. Sign-in uses the same credential check as
every protocol (``mail.auth.Authenticator.check_password``: same accounts, same
growing failure delay per client address, same rule on passwords without TLS).

Invariants: a token is never stored; an expired session is never returned; the
sliding expiry is written at most once per ``_TOUCH_EVERY`` seconds per session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from postoffice.errors import Kind, MailError
from postoffice.mail.conversations import Conversation, Conversations
from postoffice.mail.service import MailService
from postoffice.store.api import Account, Mailbox, MessageRecord
from postoffice.store.web import MessagePages, WebSession, WebSessionStore

__all__ = ["WebMail", "SignedIn", "token_hash"]

_TOUCH_EVERY = 60.0  # seconds between writes of a session's last_seen
MAX_PAGE = 200  # messages per list page at most


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    account: Account
    session: WebSession
    token: str  # the cookie value; only its hash is stored

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(), self.session.csrf.encode())


class WebMail:
    """Web sessions and keyset message pages over ``MailService`` and the web roles."""

    def __init__(self, mail: MailService, sessions: WebSessionStore, pages: MessagePages) -> None:
        self.mail = mail
        self.sessions = sessions
        self.pages = pages
        self.conversations = Conversations(pages)

    @property
    def lifetime(self) -> float:
        """``[limits.http] session_lifetime`` in force (SIGHUP may change it)."""
        return self.mail.config.limits.http.session_lifetime

    # ---- sessions -------------------------------------------------------------------
    async def sign_in(
        self, address: str, password: str, *, client_ip: str | None, tls: bool, user_agent: str = ""
    ) -> SignedIn:
        """A new session for a right password. MailError(ENCRYPTION_REQUIRED) without TLS
        outside trusted networks; MailError(AUTH_FAILED) after the failure delay."""
        auth = self.mail.auth
        if not auth.plaintext_allowed(client_ip, tls):
            raise MailError(Kind.ENCRYPTION_REQUIRED, "sign in over https")
        account = await auth.check_password(address, password, client_ip)
        now = self.mail.clock.now()
        token = secrets.token_urlsafe(32)
        session = WebSession(
            token_hash(token), account.id, secrets.token_urlsafe(32), now, now, now + self.lifetime,
            client_ip or "", user_agent[:200],
        )
        await self.sessions.create_web_session(session)
        return SignedIn(account, session, token)

    async def resolve(self, token: str | None) -> SignedIn | None:
        """The live session of a cookie token, its expiry slid forward; else None."""
        if not token or len(token) > 128:
            return None
        session = await self.sessions.get_web_session(token_hash(token))
        if session is None:
            return None
        now = self.mail.clock.now()
        if session.expires <= now:
            await self.sessions.delete_web_session(session.token_hash)
            return None
        account = await self.mail.store.get_account_by_id(session.account_id)
        if account is None:
            return None
        if now - session.last_seen >= _TOUCH_EVERY:
            await self.sessions.touch_web_session(session.token_hash, now, now + self.lifetime)
        return SignedIn(account, session, token)

    async def sign_out(self, token: str) -> None:
        await self.sessions.delete_web_session(token_hash(token))

    async def list_sessions(self, account: Account) -> list[WebSession]:
        now = self.mail.clock.now()
        return [s for s in await self.sessions.list_web_sessions(account.id) if s.expires > now]

    async def revoke(self, account: Account, session_hash: str) -> None:
        """End one of the account's own sessions (never another account's)."""
        for session in await self.sessions.list_web_sessions(account.id):
            if hmac.compare_digest(session.token_hash, session_hash):
                await self.sessions.delete_web_session(session.token_hash)
                return
        raise MailError(Kind.NOT_FOUND, "no such session")

    async def sign_out_everywhere(self, account: Account) -> int:
        return await self.sessions.delete_web_sessions(account.id)

    # ---- message pages ---------------------------------------------------------------
    async def page(self, mailbox: Mailbox, before_uid: int | None, limit: int) -> list[MessageRecord]:
        """Newest first, UIDs below ``before_uid``: the keyset page of a message list."""
        return await self.pages.page_messages(mailbox.id, before_uid, max(1, min(limit, MAX_PAGE)))

    async def conversation_page(self, mailbox: Mailbox, before_uid: int | None, limit: int) -> list[Conversation]:
        """Newest first, conversations whose newest UID is below ``before_uid``: the keyset
        page of the grouped list, grouped over the whole mailbox (``mail.conversations``)."""
        return await self.conversations.page(mailbox, before_uid, max(1, min(limit, MAX_PAGE)))
