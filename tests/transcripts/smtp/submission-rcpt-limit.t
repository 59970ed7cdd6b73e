# [limits.smtp] max_recipients_per_message at its edge on submission: advertised as
# LIMITS RCPTMAX (RFC 9422), the third recipient refused with 452 4.5.3 (RFC 5321
# §4.5.3.1.10); the message goes to the first two.
state: nonauth
listener: submission
users: alice bob carol dave
config: limits.smtp.max_recipients_per_message = 2

S: 220
C: EHLO client.example.test
S: 250-*
S: 250-LIMITS RCPTMAX=2
S: 250 ...
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: RCPT TO:<carol@example.test>
S: 250 2.1.5
C: RCPT TO:<dave@example.test>
S: 452 4.5.3
C: DATA
S: 354
C: Subject: two of three
C:
C: hi
C: .
S: 250 2.0.0
@expect-count bob INBOX 1
@expect-count carol INBOX 1
@expect-count dave INBOX 0
