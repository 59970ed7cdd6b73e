# APOP is not offered (docs/architecture.md §9): refused, the session goes on.
state: nonauth
S: +OK
C: APOP alice c4c9334bac560ecc979e58001b3e22fb
S: -ERR
C: APOP alice
S: -ERR
C: USER alice
S: +OK
C: PASS password
S: +OK
C: APOP alice c4c9334bac560ecc979e58001b3e22fb
S: -ERR
C: QUIT
S: +OK
