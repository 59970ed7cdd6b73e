# NOOP, HELP, EXPN in every state (RFC 5321 §4.1.1.9, §4.1.1.8, §3.5.2).
state: nonauth
users: alice

S: 220
C: NOOP
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: EXPN staff
S: 502 5.5.1
C: EHLO client.example.test
S: 250 ...
C: NOOP
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: EXPN staff
S: 502 5.5.1
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: NOOP
S: 250 2.0.0
C: HELP MAIL
S: 214 2.0.0
C: EXPN staff
S: 502 5.5.1
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: NOOP anything
S: 250 2.0.0
C: HELP
S: 214 2.0.0
C: EXPN staff
S: 502 5.5.1
# the transaction survived all of it
C: DATA
S: 354
C: Subject: still here
C:
C: hi
C: .
S: 250 2.0.0
C: FROB
S: 500 5.5.2
@expect-count alice INBOX 1
