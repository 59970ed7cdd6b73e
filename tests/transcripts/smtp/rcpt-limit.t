# [limits.smtp] max_recipients at its edge (RFC 5321 §4.5.3.1.10: 452 4.5.3).
state: nonauth
users: alice bob carol
config: limits.smtp.max_recipients = 2

S: 220
C: EHLO client.example.test
S: 250-*
S: 250-LIMITS RCPTMAX=2
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: RCPT TO:<carol@example.test>
S: 452 4.5.3
C: DATA
S: 354
C: Subject: two of three
C:
C: hi
C: .
S: 250 2.0.0
@expect-count alice INBOX 1
@expect-count bob INBOX 1
@expect-count carol INBOX 0
