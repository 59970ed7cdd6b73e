# STAT and LIST (RFC 1939 §5): counts and sizes leave out messages marked deleted.
state: nonauth
@deliver alice messages/dots.eml
@deliver-text alice Second
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK 2 messages
C: STAT
S: +OK 2 $total
C: LIST
S: +OK
S: 1 135
S: 2 $size2
S: .
C: LIST 1
S: +OK 1 135
C: LIST 2
S: +OK 2 $size2
C: LIST 3
S: -ERR
C: LIST 0
S: -ERR
C: LIST -1
S: -ERR
C: LIST 1 2
S: -ERR
C: LIST 99999999999999999999999999999999999999999
S: -ERR
C: DELE 1
S: +OK
C: LIST 1
S: -ERR
C: STAT
S: +OK 1 $size2
C: LIST
S: +OK
S: 2 $size2
S: .
C: STAT x
S: -ERR
C: QUIT
S: +OK
