# A keyword first used in a mailbox is announced to every session that has it selected
# with * FLAGS and * OK [PERMANENTFLAGS] before any FETCH that shows it (RFC 3501
# §7.2.6, RFC 9051 §7.3.5): the session that stores it and the others.
state: selected
connections: 3
@deliver-text alice one
@deliver-text alice two

1 C: a1 NOOP
1 S: * 2 EXISTS
1 S: ...
1 S: a1 OK
2 C: b1 NOOP
2 S: * 2 EXISTS
2 S: ...
2 S: b1 OK
3 C: c1 EXAMINE INBOX
3 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
3 S: ...
3 S: c1 OK [READ-ONLY]
@ordered
1 C: a2 STORE 1 +FLAGS ($Important)
1 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
1 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)]
1 S: * 1 FETCH (FLAGS (\Recent $Important))
1 S: a2 OK
@ordered
2 C: b2 NOOP
2 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
2 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)]
2 S: * 1 FETCH (UID 1 FLAGS ($Important))
2 S: b2 OK
# A read-only session may not store flags: its PERMANENTFLAGS stays empty.
@ordered
3 C: c2 FETCH 1 FLAGS
3 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
3 S: * OK [PERMANENTFLAGS ()]
3 S: * 1 FETCH (FLAGS ($Important))
3 S: c2 OK
# Known keywords are not announced again.
1 C: a3 STORE 2 +FLAGS ($Important)
1 S: * 2 FETCH (FLAGS (\Recent $Important))
1 S: a3 OK
2 C: b3 NOOP
2 S: * 2 FETCH (UID 2 FLAGS ($Important))
2 S: b3 OK
# A keyword stored silently is announced before the FETCH that first shows it.
1 C: a4 STORE 2 +FLAGS.SILENT (Later)
1 S: a4 OK
@ordered
2 C: b4 FETCH 2 FLAGS
2 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Later)
2 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Later \*)]
2 S: * 2 FETCH (FLAGS ($Important Later))
2 S: b4 OK
# A new message with a new keyword: FLAGS before EXISTS.
1 C: a5 APPEND INBOX (Fresh) {22}
1 C: Subject: three
1 C: 
1 C: body
1 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later)
1 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later \*)]
1 S: * 3 EXISTS
1 S: ...
1 S: a5 OK [APPENDUID $_ $_]
@ordered
2 C: b5 NOOP
2 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later)
2 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later \*)]
2 S: * 3 EXISTS
2 S: ...
2 S: b5 OK
# SELECT lists the keywords in use in both.
1 C: a6 SELECT INBOX
1 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later)
1 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important Fresh Later \*)]
1 S: ...
1 S: a6 OK [READ-WRITE]
