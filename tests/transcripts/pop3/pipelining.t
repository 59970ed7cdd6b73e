# PIPELINING (RFC 2449 §6.6): commands sent together are answered in order.
state: nonauth
@deliver-text alice One
S: +OK
C!: USER alice\r\nPASS password\r\nSTAT\r\nLIST\r\nUIDL 1\r\nNOOP\r\n
@ordered
S: +OK
S: +OK
S: +OK 1 $_
S: +OK
S: 1 $_
S: .
S: +OK 1 $_
S: +OK
C: QUIT
S: +OK
