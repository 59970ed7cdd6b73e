# [limits.smtp] max_junk_commands at its edge: the 2nd unknown command is answered, then 421.
state: nonauth
config: limits.smtp.max_junk_commands = 2

S: 220
C: FROB
S: 500 5.5.2
C: NOOP
S: 250 2.0.0
C: GET / HTTP/1.0
S: 500 5.5.2
S: 421 4.7.0
@expect-closed 1
