# NOTIFY (RFC 5465 §3.1, the example with its erratum 1804 applied): STATUS for every
# watched mailbox before the OK; then, with no command in progress, a new message in the
# selected mailbox (EXISTS and the FETCH of the attributes asked for, §5.2), a message
# appended to a watched mailbox by another session (STATUS, §5.2), an expunge in the
# selected mailbox (§5.3). The RFC's example names MessageNew alone for Lists, which
# §5 forbids ("both events MUST be specified"), so MessageExpunge is added here.
state: authenticated
connections: 2

1 C: e1 ENABLE IMAP4rev2
1 S: * ENABLED IMAP4rev2
1 S: e1 OK
1 C: e2 SELECT INBOX
1 S: ...
1 S: e2 OK
1 C: a0 CREATE Lists/Lemonade
1 S: a0 OK
1 C: a1 NOTIFY SET STATUS (selected (MessageNew (uid flags) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))
1 S: * STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY $v1)
1 S: * STATUS Lists/Lemonade (MESSAGES 0 UIDNEXT 1 UIDVALIDITY $v2)
1 S: a1 OK
# a delivery to the selected mailbox, while connection 1 sends nothing
@deliver-text alice good morning
@wait 1 "* 1 EXISTS" 5s
@wait 1 "* 1 FETCH (UID 1 FLAGS ())" 5s
2 C: b1 APPEND Lists/Lemonade {22}
2 C: Subject: lemonade
2 C: 
2 C: x
2 S: b1 OK [APPENDUID $v2 1]
@wait 1 "* STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 2)" 5s
# an expunge by another session reaches connection 1 between commands (SELECTED)
2 C: b2 SELECT INBOX
2 S: ...
2 S: b2 OK
2 C: b3 STORE 1 +FLAGS.SILENT (\Deleted)
2 S: b3 OK
2 C: b4 EXPUNGE
2 S: * 1 EXPUNGE
2 S: b4 OK
@wait 1 "* 1 EXPUNGE" 5s
# FlagChange was not asked for: a flag change waits for the next command
@deliver-text alice second
@wait 1 "* 1 EXISTS" 5s
@wait 1 "* 1 FETCH (UID 2 FLAGS ())" 5s
2 C: b4a NOOP
2 S: ...
2 S: b4a OK
2 C: b5 STORE 1 +FLAGS (\Flagged)
2 S: * 1 FETCH (FLAGS (\Flagged))
2 S: b5 OK
1 C: a2 NOOP
1 S: * 1 FETCH (UID 2 FLAGS (\Flagged))
1 S: a2 OK
# a mailbox outside every group: nothing
2 C: b6 APPEND Sent {22}
2 C: Subject: lemonade
2 C: 
2 C: x
2 S: b6 OK [APPENDUID $_ 1]
1 C: a3 NOOP
!S: * STATUS *
1 S: a3 OK
# this session's own append to a watched mailbox: its answer says it, no STATUS (§5)
1 C: a4 APPEND Lists/Lemonade {22}
1 C: Subject: lemonade
1 C: 
1 C: x
!S: * STATUS *
1 S: a4 OK [APPENDUID $v2 2]
