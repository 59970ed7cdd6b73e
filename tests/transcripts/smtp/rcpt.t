# RCPT TO on the MX: local users and aliases only; never an open relay, whatever the trick.
state: nonauth
users: alice

S: 220
C: RCPT TO:<alice@example.test>
S: 503 5.5.1
C: EHLO client.example.test
S: 250 ...
C: RCPT TO:<alice@example.test>
S: 503 5.5.1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<nobody@example.test>
S: 550 5.1.1
C: RCPT TO:<victim@remote.test>
S: 554 5.7.1
C: RCPT TO:<victim%remote.test@example.test>
S: 554 5.7.1
C: RCPT TO:<"victim@remote.test"@example.test>
S: 554 5.7.1
C: RCPT TO:<remote.test!victim@example.test>
S: 554 5.7.1
C: RCPT TO:<alice@[127.0.0.1]>
S: 554 5.7.1
C: RCPT TO:<@example.test:victim@remote.test>
S: 554 5.7.1
C: RCPT TO:<@remote.test:alice@example.test>
S: 554 5.7.1
C: RCPT TO:<alice@example.test.>
S: 501 5.1.3
C: RCPT TO:<alice@EXAMPLE.TEST>
S: 250 2.1.5
C: RCPT TO:<postmaster@example.test>
S: 250 2.1.5
C: RCPT TO:<Postmaster>
S: 250 2.1.5
C: RCPT TO:alice@example.test
S: 501 5.1.3
C: RCPT TO:<alice@example.test> FROB=1
S: 555 5.5.4
C: DATA
S: 354
C: Subject: three recipients, one account
C:
C: hello
C: .
S: 250 2.0.0
@expect-count alice INBOX 1
