# [limits.pop3] max_connections_per_ip at its edge: 2 connections are served, a 3rd gets
# "-ERR [SYS/TEMP]" (RFC 3206 §3) and is closed, never a silent close; once one closes,
# a new one is served.
state: nonauth
connections: 2
config: limits.pop3.max_connections_per_ip = 2

1 S: +OK
2 S: +OK
@connect 3
3 S: -ERR [SYS/TEMP]
@expect-closed 3
1 C: QUIT
1 S: +OK
@expect-closed 1
@connect 3
3 S: +OK
3 C: CAPA
3 S: +OK
3 S: ...
