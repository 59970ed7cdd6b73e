# With IMAP4rev2 enabled SELECT sends LIST and no RECENT (RFC 9051 §6.3.2)
state: authenticated

C: a1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a1 OK
C: a2 SELECT INBOX
S: * FLAGS $_
S: * 0 EXISTS
S: * OK [UIDVALIDITY $_]
S: * OK [UIDNEXT 1]
S: * OK [PERMANENTFLAGS $_]
S: * OK [HIGHESTMODSEQ $_]
S: * OK [MAILBOXID $_]
S: * LIST (\HasNoChildren) "/" INBOX
!S: * 0 RECENT
S: a2 OK [READ-WRITE]
# RFC 9051 removed \Recent: no \Recent in FLAGS, no * n RECENT when mail arrives.
@deliver-text alice one
C: a3 NOOP
S: * 1 EXISTS
!S: * 1 RECENT
!S: * 0 RECENT
S: a3 OK
C: a4 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS ())
S: a4 OK
