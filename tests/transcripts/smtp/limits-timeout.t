# RFC 5321 §4.5.3.2.7 server timeout ([limits.smtp] timeout_server, small here): no command
# after the first one: 421 4.4.2.
state: nonauth
config: limits.smtp.timeout_server = 0.3

S: 220
C: EHLO client.example.test
S: 250 ...
S: 421 4.4.2
@expect-closed 1
