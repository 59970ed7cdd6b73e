# QUIT in AUTHORIZATION enters no UPDATE (RFC 1939 §4); QUIT takes no argument.
state: nonauth
@deliver-text alice Kept
S: +OK
C: QUIT now
S: -ERR
C: QUIT
S: +OK
@expect-closed 1
@expect-count alice INBOX 1
