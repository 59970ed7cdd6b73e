# NOTIFY with IDLE and SELECTED-DELAYED (RFC 5465 §4, §6.1.2). In IDLE exactly what
# NOTIFY asked for is sent: a STATUS for a watched mailbox, the selected mailbox's
# updates. With SELECTED-DELAYED, new messages are told between commands at once but an
# expunge waits for a command that may report it (NOOP, IDLE).
state: authenticated
connections: 2

C: e1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: e1 OK
C: a0 CREATE Other
S: a0 OK
C: a1 SELECT INBOX
S: ...
S: a1 OK
C: a2 NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (mailboxes Other (MessageNew MessageExpunge))
S: a2 OK
@deliver-text alice one
@wait 1 "* 1 EXISTS" 5s
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 STORE 1 +FLAGS.SILENT (\Deleted)
2 S: b2 OK
2 C: b3 EXPUNGE
2 S: * 1 EXPUNGE
2 S: b3 OK
# held: a new message is told at once, the expunge is not
@deliver-text alice two
@wait 1 "* 2 EXISTS" 5s
C: a3 FETCH 2 (UID)
S: * 2 FETCH (UID 2)
!S: * 1 EXPUNGE
S: a3 OK
# IDLE may report it
C: a4 IDLE
S: +
S: * 1 EXPUNGE
2 C: b4 APPEND Other {10}
2 C: Subject: 1
2 S: ...
2 S: b4 OK [APPENDUID $_ 1]
@wait 1 "* STATUS Other (MESSAGES 1 UIDNEXT 2)" 5s
C: DONE
S: a4 OK
# SELECTED NONE: the selected mailbox is not told of while idling
C: a5 NOTIFY SET (selected NONE) (mailboxes Other (MessageNew MessageExpunge))
S: a5 OK
C: a6 IDLE
S: +
@deliver-text alice three
2 C: b5 APPEND Other {10}
2 C: Subject: 2
2 S: ...
2 S: b5 OK [APPENDUID $_ 2]
@wait 1 "* STATUS Other (MESSAGES 2 UIDNEXT 3)" 5s
# only once IDLE is over (had it come while idling, it would not come again here)
C: DONE
S: * 2 EXISTS
S: a6 OK
