# [limits.smtp] timeout_data_init (small here): no message octets after 354: 421 4.4.2,
# nothing of the message is kept.
state: nonauth
users: alice
config: limits.smtp.timeout_data_init = 0.3

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
S: 421 4.4.2
@expect-closed 1
@expect-count alice INBOX 0
