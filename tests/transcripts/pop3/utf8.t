# UTF8 (RFC 6856): UTF-8 user names and passwords only after UTF8; AUTHORIZATION only.
state: nonauth
S: +OK
C: USER jösé@example.test
S: -ERR [UTF8]
C: UTF8 now
S: -ERR
C: UTF8
S: +OK
C: USER jösé@example.test
S: +OK
C: PASS pässword
S: -ERR [AUTH]
C: USER alice
S: +OK
C: PASS password
S: +OK
C: UTF8
S: -ERR
C: QUIT
S: +OK
