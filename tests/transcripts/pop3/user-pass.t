# USER / PASS (RFC 1939 §7): PASS needs USER; a wrong password is -ERR [AUTH] after the delay.
state: nonauth
S: +OK
C: PASS password
S: -ERR
C: USER
S: -ERR
C: USER alice@example.test
S: +OK
C: PASS wrong
S: -ERR [AUTH]
C: PASS password
S: -ERR
C: USER nobody@example.test
S: +OK
C: PASS password
S: -ERR [AUTH]
C: USER ALICE@Example.Test
S: +OK
C: PASS password
S: +OK
C: USER alice
S: -ERR
C: PASS password
S: -ERR
C: QUIT
S: +OK
