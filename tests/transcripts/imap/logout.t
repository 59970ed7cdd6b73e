# LOGOUT in every state: BYE, then OK, then the server closes (RFC 9051 §6.1.3)
state: nonauth
connections: 3

1 C: a1 LOGOUT
1 S: * BYE
1 S: a1 OK
@expect-closed 1
2 C: b1 LOGIN alice@example.test password
2 S: b1 OK
2 C: b2 LOGOUT
2 S: * BYE
2 S: b2 OK
@expect-closed 2
3 C: c1 LOGIN alice@example.test password
3 S: c1 OK
3 C: c2 SELECT INBOX
3 S: ...
3 S: c2 OK
3 C: c3 LOGOUT
3 S: * BYE
3 S: c3 OK
@expect-closed 3
