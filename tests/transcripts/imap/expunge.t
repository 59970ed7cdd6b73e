# EXPUNGE (RFC 9051 §6.4.3); another session sees it at its next command that allows it,
# never during FETCH, STORE or SEARCH (RFC 9051 §7.5.1)
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

1 C: a0 NOOP
1 S: * 3 EXISTS
1 S: * 3 RECENT
1 S: a0 OK
2 C: b0 NOOP
2 S: * 3 EXISTS
2 S: * 0 RECENT
2 S: b0 OK
1 C: a1 STORE 1:2 +FLAGS.SILENT (\Deleted)
1 S: a1 OK
1 C: a2 EXPUNGE
1 S: * 2 EXPUNGE
1 S: * 1 EXPUNGE
1 S: a2 OK
2 C: b1 FETCH 1:3 UID
2 !S: * 1 EXPUNGE
2 S: * 3 FETCH (UID 3)
2 S: ...
2 S: b1 OK
2 C: b2 SEARCH ALL
2 !S: * 1 EXPUNGE
2 S: * SEARCH *
2 S: b2 OK
2 C: b3 STORE 3 +FLAGS (\Flagged)
2 !S: * 1 EXPUNGE
2 S: * 3 FETCH (FLAGS (\Flagged))
2 S: b3 OK
2 C: b4 NOOP
2 S: * 2 EXPUNGE
2 S: * 1 EXPUNGE
2 S: b4 OK
1 C: a3 EXPUNGE
1 S: * 1 FETCH (UID 3 FLAGS (\Recent \Flagged))
1 S: a3 OK
