"""The one error type of the IMAP wire layer.

Invariant: every malformed input the reader or the parser sees ends as an
:class:`ImapSyntaxError` (never IndexError, ValueError, UnicodeError, ...), carrying the
command tag when it was read, so the server answers ``tag BAD ...`` (or ``* BAD ...``
when ``tag`` is None) and reads the next command.
"""

from __future__ import annotations

__all__ = ["ImapSyntaxError"]


class ImapSyntaxError(Exception):
    """A command the server cannot parse.

    ``tag``: the command's tag, or None when the line had no valid tag.
    ``code``: an optional response code without brackets (``"TOOBIG"``, ``"CLIENTBUG"``).
    ``fatal``: the connection cannot be resynchronised; the server should answer
    ``* BYE`` and close (e.g. a non-synchronizing literal over the limit, RFC 7888 §4).
    ``status``: ``"BAD"`` for syntax; ``"NO"`` for a well-formed command refused by a limit
    (a synchronizing literal over the size limit, RFC 9051 §7.1 TOOBIG).
    """

    def __init__(
        self,
        text: str,
        tag: str | None = None,
        *,
        code: str | None = None,
        fatal: bool = False,
        status: str = "BAD",
    ) -> None:
        super().__init__(text)
        self.text = text
        self.tag = tag
        self.code = code
        self.fatal = fatal
        self.status = status

    def with_tag(self, tag: str | None) -> ImapSyntaxError:
        """This error, with ``tag`` filled in if it was not yet known."""
        if self.tag is None and tag is not None:
            self.tag = tag
        return self

    def _key(self) -> tuple[str, str | None, str | None, bool, str]:
        return (self.text, self.tag, self.code, self.fatal, self.status)

    def __eq__(self, other: object) -> bool:  # equal errors compare equal (tests, event replay)
        return isinstance(other, ImapSyntaxError) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"ImapSyntaxError({self.text!r}, tag={self.tag!r}, code={self.code!r})"
