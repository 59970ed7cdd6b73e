# NOTIFY FlagChange (RFC 5465 §5.1): in the selected mailbox a FETCH with UID and FLAGS
# between commands; in another mailbox a STATUS with UIDVALIDITY and HIGHESTMODSEQ. Once
# CONDSTORE is enabled, MessageNew's STATUS carries HIGHESTMODSEQ too (§5.2). The
# SUBSCRIBED filter follows the subscriptions as they change (§6.4); INBOXES is where
# mail is delivered (§6.3).
state: authenticated
connections: 2

C: e1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: e1 OK
C: a0 CREATE Saved
S: a0 OK
C: a1 SELECT INBOX
S: ...
S: a1 OK
C: a2 NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) (subscribed (MessageNew MessageExpunge FlagChange))
S: a2 OK
@deliver-text alice one
@wait 1 "* 1 EXISTS" 5s
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 STORE 1 +FLAGS.SILENT (\Flagged)
2 S: b2 OK
@wait 1 "* 1 FETCH (UID 1 FLAGS (\Flagged))" 5s
# Saved is not subscribed: nothing
2 C: b3 COPY 1 Saved
2 S: b3 OK
C: a3 NOOP
!S: * STATUS *
S: a3 OK
# subscribed now: its changes are told
2 C: b4 SUBSCRIBE Saved
2 S: b4 OK
2 C: b5 SELECT Saved
2 S: ...
2 S: b5 OK
2 C: b6 STORE 1 +FLAGS.SILENT (\Seen)
2 S: b6 OK
@wait 1 "* STATUS Saved (UIDVALIDITY $v HIGHESTMODSEQ $m)" 5s
C: a4 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: * OK [HIGHESTMODSEQ $_]
S: a4 OK
2 C: b7 APPEND Saved {10}
2 C: Subject: 2
2 S: ...
2 S: b7 OK [APPENDUID $v 2]
@wait 1 "* STATUS Saved (MESSAGES 2 UIDNEXT 3 HIGHESTMODSEQ $_)" 5s
# INBOXES: a delivery to INBOX (selected elsewhere) is told, Saved no longer
C: a5 SELECT Saved
S: ...
S: a5 OK
C: a6 NOTIFY SET (inboxes (MessageNew MessageExpunge))
S: a6 OK
@deliver-text alice two
@wait 1 "* STATUS INBOX (MESSAGES 2 UIDNEXT 3 HIGHESTMODSEQ $_)" 5s
2 C: b8 APPEND Sent {10}
2 C: Subject: 3
2 S: ...
2 S: b8 OK
C: a7 NOOP
!S: * STATUS *
S: a7 OK
