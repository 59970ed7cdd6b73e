# A mailbox name that is not valid modified UTF-7 (RFC 3501 §5.1.3) is well-formed
# syntax naming no mailbox that can exist: SELECT and CREATE answer NO, not BAD; a LIST
# or LSUB pattern that is not valid matches nothing and gets an empty OK.
state: authenticated

C: a1 SELECT "&Jjo"
S: a1 NO [CANNOT]
C: a2 CREATE "&Jjo"
S: a2 NO [CANNOT]
C: a3 CREATE "&AGE-"
S: a3 NO [CANNOT]
C: a4 EXAMINE a&b
S: a4 NO [CANNOT]
C: a5 LIST "" "&Jjo*"
S: a5 OK
C: a6 LIST "" ("&AGE-" INBOX)
S: * LIST $_ "/" INBOX
S: a6 OK
C: a7 LSUB "" "&Jjo%"
S: a7 OK
C: a8 LIST "&Jjo" *
S: a8 OK
# A valid encoded name is fine.
C: a9 CREATE "&ZeVnLIqe-"
S: a9 OK
C: a10 LIST "" "&ZeVnLIqe-"
S: * LIST $_ "/" "&ZeVnLIqe-"
S: a10 OK
C: a11 STATUS "&Jjo" (MESSAGES)
S: a11 NO [CANNOT]
