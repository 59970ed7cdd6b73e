# [limits.smtp] max_errors at its edge: the 3rd failed command is answered, then 421 4.7.0.
state: nonauth
config: limits.smtp.max_errors = 3

S: 220
C: MAIL FROM:<a@remote.test>
S: 503 5.5.1
C: RCPT TO:<a@example.test>
S: 503 5.5.1
C: NOOP
S: 250 2.0.0
C: DATA
S: 503 5.5.1
S: 421 4.7.0
@expect-closed 1
