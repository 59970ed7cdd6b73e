# UID EXPUNGE (RFC 4315 §2.1): only the named \Deleted messages go
state: selected
@deliver-text alice one
@deliver-text alice two

C: a0 NOOP
S: * 2 EXISTS
S: * 2 RECENT
S: a0 OK
C: a1 STORE 1:2 +FLAGS.SILENT (\Deleted)
S: a1 OK
C: a2 UID EXPUNGE 2
S: * 2 EXPUNGE
S: a2 OK
C: a3 SEARCH DELETED
S: * SEARCH 1
S: a3 OK
