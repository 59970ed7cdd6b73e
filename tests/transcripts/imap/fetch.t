# FETCH (RFC 9051 §6.4.5): attributes, sections, partials, \Seen on non-PEEK
state: selected
@deliver-text alice hello world

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 FETCH 1 (UID FLAGS RFC822.SIZE)
S: * 1 FETCH (UID 1 FLAGS (\Recent) RFC822.SIZE $size)
S: a1 OK
C: a2 FETCH 1 ENVELOPE
S: * 1 FETCH (ENVELOPE ("Tue, 14 Nov 2023 22:13:20 +0000" "hello world" ((NIL NIL "sender" "example.test")) ((NIL NIL "sender" "example.test")) ((NIL NIL "sender" "example.test")) ((NIL NIL "alice" "example.test")) NIL NIL NIL $_))
S: a2 OK
C: a3 FETCH 1 (BODYSTRUCTURE BODY)
S: * 1 FETCH (BODYSTRUCTURE ("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 13 1 NIL NIL NIL NIL) BODY ("text" "plain" ("charset" "utf-8") NIL NIL "7BIT" 13 1))
S: a3 OK
C: a4 FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]
S: * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {24}
S: Subject: hello world
S: 
S: )
S: a4 OK
C: a5 FETCH 1 (BODY.PEEK[TEXT]<0.5> BODY.PEEK[1])
S: * 1 FETCH (BODY[TEXT]<0> "hello" BODY[1] {13}
S: hello world
S: )
S: a5 OK
C: a6 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a6 OK
C: a7 FETCH 1 BODY[TEXT]
S: * 1 FETCH (BODY[TEXT] {13}
S: hello world
S: FLAGS (\Recent \Seen))
S: a7 OK
C: a8 FETCH 1 (RFC822.HEADER INTERNALDATE)
S: * 1 FETCH (RFC822.HEADER $_ INTERNALDATE $_)
S: a8 OK
C: a9 FETCH 2 FLAGS
S: a9 BAD
C: a10 FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT FROM TO DATE MESSAGE-ID)]
S: * 1 FETCH (BODY[HEADER.FIELDS.NOT (SUBJECT FROM TO DATE MESSAGE-ID)] {62}
S: MIME-Version: 1.0
S: Content-Type: text/plain; charset=utf-8
S: 
S: )
S: a10 OK
C: a11 FETCH 1 FAST
S: * 1 FETCH (FLAGS (\Recent \Seen) INTERNALDATE $_ RFC822.SIZE $size)
S: a11 OK
C: a12 FETCH 1 BODY[9]
S: * 1 FETCH (BODY[9] "")
S: a12 OK
