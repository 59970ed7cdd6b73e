# Commands in the wrong state and unknown commands get -ERR; the session goes on.
state: nonauth
S: +OK
C: STAT
S: -ERR
C: LIST
S: -ERR
C: RETR 1
S: -ERR
C: DELE 1
S: -ERR
C: NOOP
S: -ERR
C: RSET
S: -ERR
C: TOP 1 1
S: -ERR
C: UIDL
S: -ERR
C: XYZZY
S: -ERR
C:
S: -ERR
C: USER alice
S: +OK
C: PASS password
S: +OK
C: USER alice
S: -ERR
C: PASS password
S: -ERR
C: AUTH PLAIN
S: -ERR
C: UTF8
S: -ERR
C: STLS
S: -ERR
C: APOP alice c4c9334bac560ecc979e58001b3e22fb
S: -ERR
C: XYZZY
S: -ERR
C: NOOP
S: +OK
C: QUIT
S: +OK
