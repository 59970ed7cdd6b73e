# EXAMINE (RFC 9051 §6.3.3): read-only; FETCH BODY[] does not set \Seen; STORE refused
state: authenticated
@deliver-text alice one

C: a1 EXAMINE INBOX
S: * OK [PERMANENTFLAGS ()]
S: ...
S: a1 OK [READ-ONLY]
C: a2 FETCH 1 BODY[TEXT]
S: * 1 FETCH (BODY[TEXT] {5}
S: one
S: )
S: a2 OK
C: a3 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a3 OK
C: a4 STORE 1 +FLAGS (\Seen)
S: a4 NO [NOPERM]
C: a5 EXAMINE Sent
S: * OK [CLOSED]
S: ...
S: a5 OK [READ-ONLY]
