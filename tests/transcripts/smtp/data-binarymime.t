# RFC 3030 §3: BODY=BINARYMIME needs BDAT; DATA is refused.
state: nonauth
users: alice

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test> BODY=BINARYMIME
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 503 5.5.1
C: BDAT 13 LAST
C!: Subject: b\r\n\r\n
S: 250 2.0.0
@expect-count alice INBOX 1
