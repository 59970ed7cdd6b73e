# HELO in every state: no extensions, the transaction is reset.
state: nonauth
users: alice

S: 220
C: HELO client.example.test
S: 250
C: HELO client.example.test
S: 250
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: HELO client.example.test
S: 250
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: HELO client.example.test
S: 250
C: DATA
S: 503 5.5.1
C: HELO
S: 501 5.5.4
