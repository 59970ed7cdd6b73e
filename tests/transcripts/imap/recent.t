# RFC 3501 \Recent: a new message is recent in exactly one session, the first to select
# the mailbox (or be told of it while selected); EXAMINE and STATUS look without taking it.
state: authenticated
connections: 2
@deliver-text alice one
@deliver-text alice two

1 C: a1 STATUS INBOX (RECENT)
1 S: * STATUS INBOX (RECENT 2)
1 S: a1 OK
2 C: b1 EXAMINE INBOX
2 S: * 2 EXISTS
2 S: * 2 RECENT
2 S: ...
2 S: b1 OK [READ-ONLY]
1 C: a2 SELECT INBOX
1 S: * 2 EXISTS
1 S: * 2 RECENT
1 S: ...
1 S: a2 OK [READ-WRITE]
1 C: a3 SEARCH RECENT
1 S: * SEARCH 1 2
1 S: a3 OK
# RFC 3501 §2.3.2: \Recent is shown in FETCH FLAGS, to this session only.
1 C: a3b FETCH 1:2 FLAGS
1 S: * 1 FETCH (FLAGS (\Recent))
1 S: * 2 FETCH (FLAGS (\Recent))
1 S: a3b OK
1 C: a4 STORE 1 +FLAGS.SILENT (\Seen)
1 S: a4 OK
1 C: a4b STORE 2 +FLAGS (\Flagged)
1 S: * 2 FETCH (FLAGS (\Flagged \Recent))
1 S: a4b OK
1 C: a5 SEARCH NEW
1 S: * SEARCH 2
1 S: a5 OK
2 C: b2 SELECT INBOX
2 S: * OK [CLOSED]
2 S: * 2 EXISTS
2 S: * 0 RECENT
2 S: ...
2 S: b2 OK [READ-WRITE]
2 C: b3 SEARCH OLD
2 S: * SEARCH 1 2
2 S: b3 OK
2 C: b3b FETCH 1:2 FLAGS
2 S: * 1 FETCH (FLAGS (\Seen))
2 S: * 2 FETCH (FLAGS (\Flagged))
2 S: b3b OK
2 C: b4 STATUS INBOX (RECENT)
2 S: * STATUS INBOX (RECENT 0)
2 S: b4 OK
# A delivery while both have INBOX selected: recent for the first session told of it,
# which gets * n RECENT after EXISTS (RFC 3501 §7.3.2); the other gets * 0 RECENT.
@deliver-text alice three
@ordered
1 C: a6 NOOP
1 S: * 3 EXISTS
1 S: * 3 RECENT
1 S: a6 OK
1 C: a7 SEARCH RECENT
1 S: * SEARCH 1 2 3
1 S: a7 OK
1 C: a8 FETCH 3 FLAGS
1 S: * 3 FETCH (FLAGS (\Recent))
1 S: a8 OK
@ordered
2 C: b5 NOOP
2 S: * 3 EXISTS
2 S: * 0 RECENT
2 S: b5 OK
2 C: b7 FETCH 3 FLAGS
2 S: * 3 FETCH (FLAGS ())
2 S: b7 OK
2 C: b6 SEARCH RECENT
2 S: * SEARCH
2 S: b6 OK
