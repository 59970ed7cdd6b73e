# QRESYNC (RFC 7162 §3.2): SELECT ... QRESYNC reports VANISHED (EARLIER) and changed flags;
# VANISHED replaces EXPUNGE once enabled; UID FETCH ... VANISHED
state: authenticated
connections: 2
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

1 C: a1 ENABLE QRESYNC
1 S: * ENABLED QRESYNC
1 S: a1 OK
1 C: a2 SELECT INBOX
1 S: * OK [UIDVALIDITY $uv]
1 S: * OK [HIGHESTMODSEQ $m0]
1 S: ...
1 S: a2 OK
1 C: a3 UNSELECT
1 S: a3 OK
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 STORE 1 +FLAGS (\Seen)
2 S: * 1 FETCH (FLAGS (\Seen))
2 S: b2 OK
2 C: b3 STORE 2 +FLAGS.SILENT (\Deleted)
2 S: b3 OK
2 C: b4 EXPUNGE
2 S: * 2 EXPUNGE
2 S: b4 OK
1 C: a4 SELECT INBOX (QRESYNC ($uv $m0 1:3))
1 S: * VANISHED (EARLIER) 2
1 S: * 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ ($_))
1 S: ...
1 S: a4 OK
2 C: b5 STORE 2 +FLAGS.SILENT (\Deleted)
2 S: b5 OK
2 C: b6 EXPUNGE
2 S: * 2 EXPUNGE
2 S: b6 OK
1 C: a5 NOOP
1 S: * VANISHED 3
1 S: a5 OK
1 C: a6 UID FETCH 1:* (FLAGS) (CHANGEDSINCE $m0 VANISHED)
1 S: * VANISHED (EARLIER) 2:3
1 S: * 1 FETCH (UID 1 FLAGS (\Seen) MODSEQ ($_))
1 S: a6 OK
