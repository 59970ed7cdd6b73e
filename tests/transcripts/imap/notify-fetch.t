# NOTIFY MessageNew with fetch attributes (RFC 5465 §5.2, the §3.1 example's header
# fetch): EXISTS, then a FETCH with UID and what was asked for; BODY.PEEK does not set
# \Seen. A message the session appends itself gets its EXISTS but no FETCH (§5.2: SHOULD
# NOT).
state: authenticated
connections: 2

C: e1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: e1 OK
C: a0 SELECT INBOX
S: ...
S: a0 OK
C: a1 NOTIFY SET (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge))
S: a1 OK
2 C: b1 APPEND INBOX {77}
2 C: Subject: Re: good morning
2 C: From: alice@example.org
2 C: To: bob@example.org
2 C: 
2 C: hi
2 S: b1 OK
C: a2 NOOP
S: * 1 EXISTS
S: * 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO SUBJECT)] {75}
S: Subject: Re: good morning
S: From: alice@example.org
S: To: bob@example.org
S: 
S: )
S: a2 OK
C: a3 FETCH 1 (FLAGS)
S: * 1 FETCH (FLAGS ())
S: a3 OK
C: a4 APPEND INBOX {8}
C: Subject:
S: * 2 EXISTS
!S: * 2 FETCH *
S: a4 OK
