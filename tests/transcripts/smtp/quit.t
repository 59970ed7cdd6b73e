# QUIT in every state: 221, the connection closes, nothing half-received is kept.
state: nonauth
users: alice

S: 220
C: QUIT
S: 221 2.0.0
@expect-closed 1
@connect 1
S: 220
C: EHLO client.example.test
S: 250 ...
C: QUIT
S: 221 2.0.0
@expect-closed 1
@connect 1
S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: QUIT
S: 221 2.0.0
@expect-closed 1
@connect 1
S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C!: BDAT 5\r\nHello
S: 250 2.0.0
C: QUIT
S: 221 2.0.0
@expect-closed 1
@expect-count alice INBOX 0
