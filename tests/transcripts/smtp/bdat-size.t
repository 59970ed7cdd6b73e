# BDAT over max_message_size: 552 5.3.4 for the chunk that crosses it, its octets still read.
state: nonauth
users: alice
config: limits.smtp.max_message_size = 20

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C!: BDAT 10\r\n0123456789
S: 250 2.0.0
C!: BDAT 10\r\n0123456789
S: 250 2.0.0
C!: BDAT 1 LAST\r\nX
S: 552 5.3.4
C: NOOP
S: 250 2.0.0
C!: BDAT 1 LAST\r\nY
S: 503 5.5.1
@expect-count alice INBOX 0
