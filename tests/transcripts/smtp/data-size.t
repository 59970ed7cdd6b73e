# [limits.smtp] max_message_size at its edge: 40 octets kept, 41 refused after the end (552 5.3.4).
state: nonauth
users: alice
config: limits.smtp.max_message_size = 40

S: 220
C: EHLO client.example.test
S: 250-*
S: 250-SIZE 40
S: 250 ...
C: MAIL FROM:<someone@remote.test> SIZE=41
S: 552 5.3.4
C: MAIL FROM:<someone@remote.test> SIZE=40
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
# 13 + 2 + 25 = 40 octets
C!: Subject: 40\r\n\r\n01234567890123456789012\r\n.\r\n
S: 250 2.0.0
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
C!: Subject: 41\r\n\r\n012345678901234567890123\r\n.\r\n
S: 552 5.3.4
C: NOOP
S: 250 2.0.0
@expect-count alice INBOX 1
