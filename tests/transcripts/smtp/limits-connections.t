# [limits.smtp] max_connections_per_ip at its edge: 2 connections are served, a 3rd is
# refused with 421 4.7.0 and closed; once one closes, a new one is served.
state: nonauth
connections: 2
config: limits.smtp.max_connections_per_ip = 2

1 S: 220
2 S: 220
@connect 3
3 S: 421 4.7.0
@expect-closed 3
1 C: QUIT
1 S: 221 2.0.0
@expect-closed 1
@connect 3
3 S: 220
3 C: NOOP
3 S: 250 2.0.0
