# DELETE of the selected mailbox (RFC 9051 §6.3.5): the command is answered, the
# session that had it selected is told the mailbox is closed (RFC 9051 §7.1 CLOSED)
# and goes on in the authenticated state; so does another session that had it selected.
state: authenticated
connections: 2

1 C: a1 CREATE Work
1 S: a1 OK
@deliver-text alice one
1 C: a2 SELECT Work
1 S: ...
1 S: a2 OK [READ-WRITE]
1 C: a3 DELETE Work
1 S: * OK [CLOSED]
1 S: a3 OK
1 C: a4 FETCH 1 FLAGS
1 S: a4 BAD
1 C: a5 LIST "" Work
1 S: a5 OK
1 C: a6 NOOP
1 S: a6 OK

# Two connections: the other session finds out at its next command.
1 C: a7 CREATE Work2
1 S: a7 OK
2 C: b1 SELECT Work2
2 S: ...
2 S: b1 OK [READ-WRITE]
1 C: a8 DELETE Work2
1 S: a8 OK
2 C: b2 NOOP
2 S: * OK [CLOSED]
2 S: b2 OK
2 C: b3 FETCH 1 FLAGS
2 S: b3 BAD
2 C: b4 SELECT INBOX
2 S: ...
2 S: b4 OK [READ-WRITE]
# ... and while the other session FETCHes (a command that may not expunge).
1 C: a9 CREATE Work3
1 S: a9 OK
1 C: a10 APPEND Work3 {22}
1 C: Subject: three
1 C: 
1 C: body
1 S: a10 OK [APPENDUID $_ 1]
2 C: b5 SELECT Work3
2 S: ...
2 S: b5 OK [READ-WRITE]
1 C: a11 DELETE Work3
1 S: a11 OK
2 C: b6 FETCH 1 FLAGS
2 S: * OK [CLOSED]
2 S: b6 NO [NONEXISTENT]
2 C: b7 NOOP
2 S: b7 OK
# ... and while it is in IDLE: told at once, and DONE is answered.
1 C: a12 CREATE Work4
1 S: a12 OK
2 C: b8 SELECT Work4
2 S: ...
2 S: b8 OK [READ-WRITE]
2 C: b9 IDLE
2 S: + idling
1 C: a13 DELETE Work4
1 S: a13 OK
@wait 2 "* OK [CLOSED]"
2 C: DONE
2 S: b9 OK
2 C: b10 NOOP
2 S: b10 OK
