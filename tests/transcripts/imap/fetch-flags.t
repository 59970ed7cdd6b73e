# FETCH of only UID and FLAGS (RFC 9051 §6.4.5), answered from the session's view of the
# mailbox: what another session changed shows at once, a keyword is announced before the
# first FETCH showing it, a message expunged elsewhere but not yet announced is left
# out (RFC 9051 §7.5.1; UID FETCH may announce the expunge after), and the items come
# in the order asked (UID first for UID FETCH).
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

1 C: a0 NOOP
1 S: * 3 EXISTS
1 S: * 3 RECENT
1 S: a0 OK
2 C: b0 SELECT INBOX
2 S: * 3 EXISTS
2 S: ...
2 S: b0 OK
1 C: a1 FETCH 1:* (FLAGS UID)
1 S: * 1 FETCH (FLAGS (\Recent) UID 1)
1 S: * 2 FETCH (FLAGS (\Recent) UID 2)
1 S: * 3 FETCH (FLAGS (\Recent) UID 3)
1 S: a1 OK
2 C: b1 STORE 1 +FLAGS.SILENT ($Urgent \Seen)
2 S: b1 OK
2 C: b2 STORE 2 +FLAGS.SILENT (\Deleted)
2 S: b2 OK
2 C: b3 EXPUNGE
2 S: * 2 EXPUNGE
2 S: b3 OK
1 C: a2 FETCH 3 UID
1 !S: * 2 EXPUNGE
1 S: * 3 FETCH (UID 3)
1 S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen $Urgent)
1 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Urgent \*)]
1 S: * 1 FETCH (UID 1 FLAGS (\Recent \Seen $Urgent))
1 S: a2 OK
1 C: a3 UID FETCH 1:* FLAGS
1 !S: * 2 FETCH (UID 2 FLAGS (\Recent))
1 S: * 1 FETCH (UID 1 FLAGS (\Recent \Seen $Urgent))
1 S: * 3 FETCH (UID 3 FLAGS (\Recent))
1 S: * 2 EXPUNGE
1 S: a3 OK
1 C: a4 FETCH 1:* FLAGS
1 S: * 1 FETCH (FLAGS (\Recent \Seen $Urgent))
1 S: * 2 FETCH (FLAGS (\Recent))
1 S: a4 OK
1 C: a5 FETCH 1:* (UID FLAGS)
1 S: * 1 FETCH (UID 1 FLAGS (\Recent \Seen $Urgent))
1 S: * 2 FETCH (UID 3 FLAGS (\Recent))
1 S: a5 OK
