# The seed's download-and-delete session: both messages are gone after QUIT.
state: nonauth
@deliver-text alice First message
@deliver-text alice Second message
S: +OK
C: user alice
S: +OK
C: pass password
S: +OK
C: list
S: +OK
S: 1 $size1
S: 2 $size2
S: .
C: retr 1
S: +OK $size1
S: ...
S: .
C: dele 1
S: +OK
C: retr 2
S: +OK $size2
S: ...
S: .
C: dele 2
S: +OK
C: quit
S: +OK
@expect-closed 1
@expect-count alice INBOX 0
