# IDLE (RFC 2177, RFC 9051 §6.3.13): a delivery and another session's changes arrive at once
state: selected
connections: 2

1 C: a1 IDLE
1 S: +
@deliver-text alice during idle
@wait 1 "* 1 EXISTS" 5s
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 STORE 1 +FLAGS (\Flagged)
2 S: * 1 FETCH (FLAGS (\Flagged))
2 S: b2 OK
@wait 1 "* 1 FETCH (UID 1 FLAGS (\Flagged \Recent))" 5s
2 C: b3 STORE 1 +FLAGS.SILENT (\Deleted)
2 S: b3 OK
2 C: b4 EXPUNGE
2 S: * 1 EXPUNGE
2 S: b4 OK
@wait 1 "* 1 EXPUNGE" 5s
1 C: DONE
1 S: a1 OK
