# NOTIFICATIONOVERFLOW (RFC 5465): a NOTIFY SET watching more mailboxes than
# [limits.imap] max_notify_mailboxes is refused with a tagged NO (§3.1); more changes
# waiting for the session than max_notify_backlog (here: two appends arriving while
# the session is busy with its own command) stop its notifications with an untagged
# OK [NOTIFICATIONOVERFLOW], as if NOTIFY NONE had been sent (§5.8).
state: selected
connections: 2
config: limits.imap.max_notify_mailboxes = 2
config: limits.imap.max_notify_backlog = 1

C: a1 CREATE Other
S: a1 OK
C: a2 CREATE Third
S: a2 OK
C: a3 NOTIFY SET (personal (MessageNew MessageExpunge))
S: a3 NO [NOTIFICATIONOVERFLOW]
C: a4 NOTIFY SET (mailboxes (Other Third) (MessageNew MessageExpunge))
S: a4 OK
# one change: a notification
2 C: b1 APPEND Other {10}
2 C: Subject: 1
2 S: b1 OK [APPENDUID $_ 1]
@wait 1 "* STATUS Other (MESSAGES 1 UIDNEXT 2)" 5s
# two changes at once (MULTIAPPEND by this session): the backlog is over the limit
C: a5 APPEND Third {10}
C: Subject: 2 {10}
C: Subject: 3
S: * OK [NOTIFICATIONOVERFLOW]
!S: * STATUS *
S: a5 OK [APPENDUID $_ 1:2]
# notifications are off now
2 C: b2 APPEND Other {10}
2 C: Subject: 4
2 S: b2 OK [APPENDUID $_ 2]
C: a6 NOOP
!S: * STATUS *
S: a6 OK
