# FETCH of a message/global part: a leaf in IMAP4rev1, which knows only message/rfc822
# (RFC 3501 §7.4.2 body-type-msg); an encapsulated message in IMAP4rev2 (RFC 9051 §7.5.2)
state: authenticated
connections: 2

C: a1 APPEND INBOX {64}
C: Subject: g
C: Content-Type: message/global
C: 
C: Subject: inner
C: 
C: hi
S: a1 OK
C: a2 SELECT INBOX
S: ...
S: a2 OK
C: a3 FETCH 1 (BODYSTRUCTURE BODY.PEEK[1.HEADER])
S: * 1 FETCH (BODYSTRUCTURE ("message" "global" NIL NIL NIL "7BIT" 20 NIL NIL NIL NIL) BODY[1.HEADER] "")
S: a3 OK
C: a4 FETCH 1 BINARY.PEEK[1]
S: * 1 FETCH (BINARY[1] {20}
S: Subject: inner
S: 
S: hi)
S: a4 OK
2 C: b1 ENABLE IMAP4rev2
2 S: * ENABLED IMAP4rev2
2 S: b1 OK
2 C: b2 SELECT INBOX
2 S: ...
2 S: b2 OK
2 C: b3 FETCH 1 (BODYSTRUCTURE BODY.PEEK[1.HEADER])
2 S: * 1 FETCH (BODYSTRUCTURE ("message" "global" NIL NIL NIL "7BIT" 20 (NIL "inner" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 2 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL) BODY[1.HEADER] {18}
2 S: Subject: inner
2 S: 
2 S: )
2 S: b3 OK
