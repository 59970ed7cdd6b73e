# STORE (RFC 9051 §6.4.6): FLAGS, +FLAGS, -FLAGS, .SILENT, keywords; the other session sees FETCH
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two

1 C: a0 NOOP
1 S: * 2 EXISTS
1 S: * 2 RECENT
1 S: a0 OK
2 C: b0 NOOP
2 S: * 2 EXISTS
2 S: * 0 RECENT
2 S: b0 OK
1 C: a1 STORE 1 +FLAGS (\Flagged $Important)
1 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important)
1 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Important \*)]
1 S: * 1 FETCH (FLAGS (\Recent \Flagged $Important))
1 S: a1 OK
1 C: a2 STORE 1:2 FLAGS (\Seen)
1 S: * 1 FETCH (FLAGS (\Recent \Seen))
1 S: * 2 FETCH (FLAGS (\Recent \Seen))
1 S: a2 OK
1 C: a3 STORE 2 -FLAGS.SILENT (\Seen)
1 !S: * 2 FETCH *
1 S: a3 OK
2 C: b1 NOOP
2 S: * 1 FETCH (UID 1 FLAGS (\Seen))
2 S: b1 OK
1 C: a4 UID STORE 2 +FLAGS (\Answered)
1 S: * 2 FETCH (UID 2 FLAGS (\Recent \Answered))
1 S: a4 OK
1 C: a5 STORE 3 +FLAGS (\Seen)
1 S: a5 BAD
1 C: a6 STORE 1 FLAGS ()
1 S: * 1 FETCH (FLAGS (\Recent))
1 S: a6 OK
