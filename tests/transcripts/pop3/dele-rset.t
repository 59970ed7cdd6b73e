# DELE marks, RSET unmarks (RFC 1939 §5); a message marked twice is -ERR; nothing is
# deleted before QUIT, and only marked messages are deleted then.
state: nonauth
@deliver-text alice One
@deliver-text alice Two
@deliver-text alice Three
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: DELE 1
S: +OK
C: DELE 1
S: -ERR
C: DELE 4
S: -ERR
C: DELE
S: -ERR
@expect-count alice INBOX 3
C: RSET
S: +OK
C: RSET now
S: -ERR
C: STAT
S: +OK 3 $_
C: DELE 2
S: +OK
C: NOOP
S: +OK
C: NOOP x
S: -ERR
C: QUIT
S: +OK
@expect-closed 1
@expect-count alice INBOX 2
@connect 1
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK 2 messages
C: RSET
S: +OK
C: QUIT
S: +OK
@expect-count alice INBOX 2
