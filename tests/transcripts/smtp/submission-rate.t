# [limits.smtp] max_messages_per_hour at its edge: the third message within an hour is
# refused at MAIL with 450 4.7.0 (RFC 5321 §4.2.2, RFC 3463 X.7.0); an hour later it passes.
state: nonauth
listener: submission
users: alice bob
config: limits.smtp.max_messages_per_hour = 2

S: 220
C: EHLO client.example.test
S: 250-*
S: 250 ...
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: one
C:
C: 1
C: .
S: 250 2.0.0
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: two
C:
C: 2
C: .
S: 250 2.0.0
C: MAIL FROM:<alice@example.test>
S: 450 4.7.0
@advance-clock 3601s
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: QUIT
S: 221
@expect-count bob INBOX 2
