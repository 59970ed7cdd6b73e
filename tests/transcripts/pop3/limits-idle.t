# Autologout (RFC 1939 §3, limits.pop3.idle_timeout = 10 min): 1 s short of it the
# session lives; at 10 min idle it is closed without UPDATE.
state: nonauth
@deliver-text alice One
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: DELE 1
S: +OK
@advance-clock 599s
C: NOOP
S: +OK
@advance-clock 600s
S: -ERR
@expect-closed 1
@expect-count alice INBOX 1
@connect 1
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK 1 messages
C: QUIT
S: +OK
