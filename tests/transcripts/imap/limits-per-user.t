# [limits.imap] max_connections_per_user: one more login is refused with NO [LIMIT]
state: nonauth
connections: 2
config: limits.imap.max_connections_per_user = 1

1 C: a1 LOGIN alice@example.test password
1 S: a1 OK
2 C: b1 LOGIN alice@example.test password
2 S: b1 NO [LIMIT]
1 C: a2 LOGOUT
1 S: * BYE
1 S: a2 OK
@expect-closed 1
2 C: b2 LOGIN alice@example.test password
2 S: b2 OK
