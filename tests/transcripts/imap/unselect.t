# UNSELECT (RFC 3691): leaves the mailbox without expunging
state: selected
@deliver-text alice one

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 STORE 1 +FLAGS.SILENT (\Deleted)
S: a1 OK
C: a2 UNSELECT
S: a2 OK
C: a3 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 1)
S: a3 OK
C: a4 UNSELECT
S: a4 BAD
