"""DATA framing (RFC 5321 §4.5.2, §2.3.8): CRLF line ends and dot-stuffing, streamed.

:class:`DataFramer` turns message octets into the octets sent after ``354``: every bare
CR and bare LF becomes CRLF (so no hop can disagree about where a line ends), a "." that
starts a line is doubled, and :meth:`DataFramer.finish` closes the data with
``CRLF . CRLF`` (adding the CRLF the last line lacks). The output depends only on the
input octets, never on their split into chunks; memory is constant. Pure: no I/O.
"""

from __future__ import annotations

from postoffice.message.lineends import LineEndNormaliser

__all__ = ["DataFramer"]


class DataFramer:
    def __init__(self) -> None:
        self._normaliser = LineEndNormaliser()
        self._line_start = True  # the next octet starts a line
        self._empty = True

    def feed(self, data: bytes) -> bytes:
        data = self._normaliser.feed(data)
        if not data:
            return b""
        self._empty = False
        stuffed = data.replace(b"\r\n.", b"\r\n..")
        if self._line_start and stuffed[:1] == b".":
            stuffed = b"." + stuffed
        self._line_start = stuffed.endswith(b"\r\n")
        return stuffed

    def finish(self) -> bytes:
        self._normaliser.flush()  # a pending CR: the CRLF below ends that line
        # RFC 5321 §4.1.1.4: the data ends with CRLF . CRLF; a last line without its CRLF gets one.
        if self._empty or self._line_start:
            return b".\r\n"
        return b"\r\n.\r\n"
