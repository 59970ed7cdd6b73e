# DATA (RFC 5321 §4.1.1.4) in every state; dot-stuffing; pipelining after the end.
state: nonauth
users: alice

S: 220
C: DATA
S: 503 5.5.1
C: EHLO client.example.test
S: 250 ...
C: DATA
S: 503 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: DATA
S: 503 5.5.1
C: RCPT TO:<nobody@example.test>
S: 550 5.1.1
# RFC 5321 §3.3: every RCPT failed
C: DATA
S: 554 5.5.1
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: dots
C:
C: ..a stuffed dot
C: .
S: 250 2.0.0
# RFC 2920: the whole transaction pipelined, the message first
C!: MAIL FROM:<someone@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: pipelined\r\n\r\nbody\r\n.\r\nNOOP\r\n
S: 250 2.0.0
S: 250 2.0.0
@expect-count alice INBOX 2
