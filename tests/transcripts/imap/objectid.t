# OBJECTID (RFC 8474): MAILBOXID kept across RENAME (§4), EMAILID shared by copies (§5.1),
# THREADID NIL (§5.2: no thread ids are kept), EMAILID/THREADID search keys (§6)
state: authenticated
connections: 2

C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
# RFC 8474 §4.1: CREATE answers the new mailbox's id
C: a2 CREATE Projects
S: a2 OK [MAILBOXID $mid]
C: a3 STATUS Projects (MESSAGES MAILBOXID)
S: * STATUS Projects (MESSAGES 0 MAILBOXID $mid)
S: a3 OK
C: a4 RENAME Projects Work
S: a4 OK
C: a5 STATUS Work (MAILBOXID)
S: * STATUS Work (MAILBOXID $mid)
S: a5 OK
C: a5b LIST "" Work RETURN (STATUS (MAILBOXID))
S: * LIST (\HasNoChildren) "/" Work
S: * STATUS Work (MAILBOXID $mid)
S: a5b OK
C: a6 CREATE Projects
S: a6 OK [MAILBOXID $mid2]
!S: * STATUS Projects (MAILBOXID $mid)
C: a7 STATUS Projects (MAILBOXID)
S: * STATUS Projects (MAILBOXID $mid2)
S: a7 OK
@deliver alice sort-mail/m1.eml
@deliver alice sort-mail/m2.eml
@deliver alice sort-mail/m1.eml
C: a8 EXAMINE Work
S: * 0 EXISTS
S: * OK [MAILBOXID $mid]
S: ...
S: a8 OK [READ-ONLY]
C: a9 SELECT INBOX
S: * 3 EXISTS
S: * OK [MAILBOXID $inbox]
S: ...
S: a9 OK [READ-WRITE]
# the same message delivered twice is one content: one EMAILID (RFC 8474 §5.1)
C: a10 FETCH 1:3 (EMAILID THREADID)
S: * 1 FETCH (EMAILID ($e1) THREADID NIL)
S: * 2 FETCH (EMAILID ($e2) THREADID NIL)
S: * 3 FETCH (EMAILID ($e1) THREADID NIL)
S: a10 OK
C: a11 COPY 2 Work
S: a11 OK
C: a12 SEARCH EMAILID $e1
S: * SEARCH 1 3
S: a12 OK
C: a13 UID SEARCH EMAILID $e2
S: * SEARCH 2
S: a13 OK
C: a14 SEARCH THREADID T1
S: * SEARCH
S: a14 OK
C: a15 SEARCH EMAILID Mnothere
S: * SEARCH
S: a15 OK
# a copy keeps its EMAILID, in another mailbox seen by another session
2 C: b1 SELECT Work
2 S: * 1 EXISTS
2 S: ...
2 S: b1 OK
2 C: b2 FETCH 1 (EMAILID)
2 S: * 1 FETCH (EMAILID ($e2))
2 S: b2 OK
2 C: b3 SEARCH EMAILID $e2
2 S: * SEARCH 1
2 S: b3 OK
# errors: objectid syntax (RFC 8474 §3), STATUS of an unknown item
C: a16 SEARCH EMAILID "a b"
S: a16 BAD
C: a17 SEARCH EMAILID
S: a17 BAD
C: a18 STATUS INBOX (MAILBOXID BOGUS)
S: a18 BAD
