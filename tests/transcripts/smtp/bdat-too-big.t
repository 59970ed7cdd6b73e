# BDAT announcing more octets than max_message_size, or than the SIZE declared in MAIL
# (RFC 1870 §6), is answered 552 5.3.4 at once, before any of its octets is read. A
# chunk too big to read and drop ends the session; a smaller one is read after the
# answer, so the session goes on.
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
C: BDAT 99999999999999999999 LAST
S: 552 5.3.4
@expect-closed 1

# The edge: 20 octets pass, the 21st does not (answered before it is sent)
@connect 1
S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C!: BDAT 10\r\n0123456789
S: 250 2.0.0
C: BDAT 11 LAST
S: 552 5.3.4
C!: 0123456789X
C: NOOP
S: 250 2.0.0
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C!: BDAT 20 LAST\r\n0123456789\r\n01234567
S: 250 2.0.0
@expect-count alice INBOX 1

# Above the declared SIZE
C: MAIL FROM:<someone@remote.test> SIZE=10
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: BDAT 11 LAST
S: 552 5.3.4
C!: 0123456789X
C: NOOP
S: 250 2.0.0

# Out of sequence too: a chunk too big to read and drop ends the session
C: BDAT 99999999999999999999 LAST
S: 503 5.5.1
@expect-closed 1
@expect-count alice INBOX 1
