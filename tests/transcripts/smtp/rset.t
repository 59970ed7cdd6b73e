# RSET, NOOP, HELP, VRFY (off: 252 for every address alike) and EXPN in every state.
state: nonauth
users: alice

S: 220
C: RSET
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: VRFY alice
S: 252 2.5.0
C: EXPN staff
S: 502 5.5.1
C: EHLO client.example.test
S: 250 ...
C: RSET
S: 250 2.0.0
C: NOOP anything
S: 250 2.0.0
C: HELP MAIL
S: 214 2.0.0
C: VRFY <nobody@example.test>
S: 252 2.5.0
C: EXPN staff
S: 502 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: NOOP
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: VRFY alice@example.test
S: 252 2.5.0
C: EXPN staff
S: 502 5.5.1
C: RSET
S: 250 2.0.0
C: RCPT TO:<alice@example.test>
S: 503 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: NOOP
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: VRFY alice
S: 252 2.5.0
C: EXPN staff
S: 502 5.5.1
C: RSET
S: 250 2.0.0
C: DATA
S: 503 5.5.1
C: RSET extra
S: 501 5.5.4
@expect-count alice INBOX 0
