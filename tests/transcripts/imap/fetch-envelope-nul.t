# ENVELOPE and BODYSTRUCTURE of header values holding NUL. Neither a quoted string nor a
# literal may carry NUL (RFC 9051 §4.3 and §9, RFC 3501 §9: CHAR8 = %x01-ff), so such a
# value goes out as RFC 2047 encoded words of its octets (utf-8 when they are UTF-8, else
# unknown-8bit), and a parameter as an RFC 2231 extended value: no octet is lost or sent raw.
state: selected
@deliver alice messages/nul-header.eml

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 FETCH 1 (ENVELOPE)
S: * 1 FETCH (ENVELOPE (NIL "=?utf-8?b?YmVmb3JlAGFmdGVy?=" (("=?utf-8?b?QW5uAExlZQ==?=" NIL "ann" "example.test")) (("=?utf-8?b?QW5uAExlZQ==?=" NIL "ann" "example.test")) (("=?utf-8?b?QW5uAExlZQ==?=" NIL "ann" "example.test")) ((NIL NIL "bob" "example.test")) NIL NIL NIL "=?utf-8?b?PGlkAEBleGFtcGxlLnRlc3Q+?="))
S: a1 OK
C: a2 FETCH 1 (BODYSTRUCTURE)
S: * 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8" "name*" "utf-8''a%00b.txt") NIL "=?unknown-8bit?b?Y2Fm6QBsYXRpbi0x?=" "7BIT" 5 1 NIL NIL NIL NIL) "mixed" ("boundary" "b") NIL NIL NIL))
S: a2 OK
C: a3 UID FETCH 1 (BODY)
S: * 1 FETCH (UID 1 BODY (("text" "plain" ("charset" "utf-8" "name*" "utf-8''a%00b.txt") NIL "=?unknown-8bit?b?Y2Fm6QBsYXRpbi0x?=" "7BIT" 5 1) "mixed"))
S: a3 OK
