# [limits.smtp] max_commands_before_mail at its edge: 3 commands outside a transaction pass,
# the 4th ends the session (421 4.7.0); MAIL starts the count again.
state: nonauth
users: alice
config: limits.smtp.max_commands_before_mail = 3

S: 220
C: EHLO client.example.test
S: 250 ...
C: NOOP
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: RSET
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
C: NOOP
S: 421 4.7.0
@expect-closed 1
