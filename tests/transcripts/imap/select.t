# SELECT (RFC 9051 §6.3.2): counts, UIDVALIDITY, UIDNEXT, flags; reselect closes the old one
state: authenticated
@deliver-text alice one
@deliver-text alice two

C: a1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * 2 EXISTS
S: * 2 RECENT
S: * OK [UNSEEN 1]
S: * OK [UIDVALIDITY $uv]
S: * OK [UIDNEXT 3]
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)]
S: * OK [HIGHESTMODSEQ $_]
S: * OK [MAILBOXID $_]
S: a1 OK [READ-WRITE]
C: a2 SELECT inbox
S: * OK [CLOSED]
S: * 0 RECENT
S: ...
S: a2 OK [READ-WRITE]
C: a3 SELECT Nowhere
S: * OK [CLOSED]
S: a3 NO [NONEXISTENT]
C: a4 FETCH 1 FLAGS
S: a4 BAD
