# CLOSE (RFC 9051 §6.4.1): expunges \Deleted silently, back to authenticated; EXAMINE keeps them
state: selected
@deliver-text alice one
@deliver-text alice two

C: a0 NOOP
S: * 2 EXISTS
S: * 2 RECENT
S: a0 OK
C: a1 STORE 1 +FLAGS.SILENT (\Deleted)
S: a1 OK
C: a2 CLOSE
!S: * 1 EXPUNGE
S: a2 OK
C: a3 FETCH 1 FLAGS
S: a3 BAD
C: a4 STATUS INBOX (MESSAGES)
S: * STATUS INBOX (MESSAGES 1)
S: a4 OK
C: a5 CLOSE
S: a5 BAD
