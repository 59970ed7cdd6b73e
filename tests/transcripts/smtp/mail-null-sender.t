# Submission accepts the null reverse-path (MAIL FROM:<>) from a signed-in user: user
# agents send read receipts with it (RFC 8098 §2.1). Before AUTH it is refused like any
# other sender.
state: nonauth
listener: submission
users: alice bob

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<>
S: 530 5.7.0
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
C: MAIL FROM:<>
S: 250 2.1.0
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: Read: hello
C: Content-Type: multipart/report; report-type=disposition-notification; boundary=b
C:
C: --b
C:
C: read
C: --b--
C: .
S: 250 2.0.0
@expect-count bob INBOX 1
