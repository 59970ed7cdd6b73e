# [limits.imap] max_connections_per_ip at its edge: 2 connections are served, a 3rd gets
# "* BYE [LIMIT]" (RFC 9051 §7.1.5, RFC 5530) and is closed, never a silent close;
# once one closes, a new one is served.
state: nonauth
connections: 2
config: limits.imap.max_connections_per_ip = 2

1 S: * OK *
2 S: * OK *
@connect 3
3 S: * BYE [LIMIT]
@expect-closed 3
1 C: a1 LOGOUT
1 S: * BYE
1 S: a1 OK
@expect-closed 1
@connect 3
3 S: * OK *
3 C: c1 NOOP
3 S: c1 OK
