# The message list is fixed when TRANSACTION starts (RFC 1939 §5); new mail appears in
# the next session.
state: nonauth
@deliver-text alice Before
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK 1 messages
@deliver-text alice During
C: STAT
S: +OK 1 $_
C: RETR 2
S: -ERR
C: DELE 1
S: +OK
C: QUIT
S: +OK
@expect-closed 1
@expect-count alice INBOX 1
@connect 1
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK 1 messages
C: TOP 1 0
S: +OK
S: ...
S: Subject: During
S: .
C: QUIT
S: +OK
