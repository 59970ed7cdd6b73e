# limits.pop3.max_errors at its edge: the 3rd failed command ends the session.
state: nonauth
config: limits.pop3.max_errors = 3
S: +OK
C: XYZZY
S: -ERR
C: STAT
S: -ERR
C: USER alice
S: +OK
C: NOOP
S: -ERR
@expect-closed 1
