# BDAT (RFC 3030 §2) in every state; a refused chunk is still read; no mixing with DATA.
state: nonauth
users: alice

S: 220
C!: BDAT 6\r\nRSET\r\n
S: 503 5.5.1
C: BDAT 0 LAST
S: 503 5.5.1
C: EHLO client.example.test
S: 250 ...
C!: BDAT 6\r\nNOOP\r\n
S: 503 5.5.1
C: BDAT 0
S: 503 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C!: BDAT 6 LAST\r\nQUIT\r\n
S: 503 5.5.1
C: BDAT 0 LAST
S: 503 5.5.1
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C!: BDAT 15\r\nSubject: chunks
S: 250 2.0.0
C: DATA
S: 503 5.5.1
C!: BDAT 8\r\n\r\n\r\nbody
S: 250 2.0.0
C!: BDAT 2 LAST\r\n\r\n
S: 250 2.0.0
C: BDAT 0 LAST
S: 503 5.5.1
C: BDAT x
S: 501 5.5.4
@expect-count alice INBOX 1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: BDAT 0 LAST
S: 250 2.0.0
@expect-count alice INBOX 2
