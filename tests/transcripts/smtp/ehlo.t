# EHLO / HELO in every state (RFC 5321 §4.1.1.1, §4.1.4: EHLO in a transaction resets it).
state: nonauth
users: alice

S: 220
C: EHLO client.example.test
S: 250-mail.example.test *
S: 250-PIPELINING
S: 250-SIZE 2147483648
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-CHUNKING
S: 250-BINARYMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-DSN
S: 250-STARTTLS
S: 250-LIMITS RCPTMAX=1000
S: 250 HELP
C: EHLO again.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: EHLO client.example.test
S: 250 ...
# the transaction is gone
C: RCPT TO:<alice@example.test>
S: 503 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: EHLO client.example.test
S: 250 ...
C: DATA
S: 503 5.5.1
C: EHLO
S: 501 5.5.4
C: EHLO two words
S: 501 5.5.4
C: EHLO [192.0.2.1]
S: 250 ...
