# A recipient accepted at RCPT and deleted before the end of data: nothing is stored
# for anyone. Others remain: 450 4.2.1, the client retries later and its RCPT for the
# one gone is then refused alone (no recipient gets the message twice). None remains:
# 550 5.1.1 for the whole message.
state: nonauth
users: alice bob

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
@delete-user bob
C: DATA
S: 354
C: Subject: hello
C:
C: hi
C: .
S: 450 4.2.1
@expect-count alice INBOX 0
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: RCPT TO:<bob@example.test>
S: 550 5.1.1
C: DATA
S: 354
C: Subject: hello
C:
C: hi
C: .
S: 250 2.0.0
@expect-count alice INBOX 1
C: MAIL FROM:<someone@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
@delete-user alice
C: BDAT 10 LAST
C: Subject:
S: 550 5.1.1
C: QUIT
S: 221
