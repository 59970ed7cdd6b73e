# Submission with the relay switched off ([relay] enabled = false): a recipient in another
# domain is refused temporarily at RCPT (451 4.3.0), never dropped; local ones still work.
state: nonauth
listener: submission
users: alice bob
config: relay.enabled = false

S: 220
C: EHLO client.example.test
S: 250-*
S: 250 ...
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: RCPT TO:<friend@remote.test>
S: 451 4.3.0
C: RCPT TO:<bob@example.test>
S: 250 2.1.5
C: QUIT
S: 221 2.0.0
