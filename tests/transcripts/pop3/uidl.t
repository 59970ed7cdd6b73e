# UIDL (RFC 1939 §7): from UIDVALIDITY and UID, the same in the next session; numbers
# shift but unique-ids do not; deleted messages are not listed.
state: nonauth
@deliver-text alice One
@deliver-text alice Two
@deliver-text alice Three
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: UIDL
S: +OK
S: 1 $u1
S: 2 $u2
S: 3 $u3
S: .
C: UIDL 2
S: +OK 2 $u2
C: UIDL 4
S: -ERR
C: UIDL x
S: -ERR
C: DELE 1
S: +OK
C: UIDL 1
S: -ERR
C: UIDL
S: +OK
S: 2 $u2
S: 3 $u3
S: .
C: QUIT
S: +OK
@expect-closed 1
@connect 1
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: UIDL
S: +OK
S: 1 $u2
S: 2 $u3
S: .
C: UIDL 1
S: +OK 1 $u2
C: QUIT
S: +OK
