# NOOP in every state; in the selected state it reports new mail (RFC 9051 §6.1.2)
state: nonauth
connections: 2

1 C: a1 NOOP
1 S: a1 OK
1 C: a2 LOGIN alice@example.test password
1 S: a2 OK
1 C: a3 NOOP
1 S: a3 OK
1 C: a4 SELECT INBOX
1 S: ...
1 S: a4 OK
@deliver-text alice hello
1 C: a5 NOOP
1 S: * 1 EXISTS
1 S: * 1 RECENT
1 S: a5 OK
