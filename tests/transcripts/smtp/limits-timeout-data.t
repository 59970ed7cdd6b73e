# Data block timeout (server side of RFC 5321 §4.5.3.2.5; [limits.smtp] timeout_data_block, small here):
# 421 4.4.2 in the middle of DATA; nothing of the message is kept.
state: nonauth
users: alice
config: limits.smtp.timeout_data_block = 0.3

S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
C!: Subject: half\r\n\r\nhalf a message
S: 421 4.4.2
@expect-closed 1
@expect-count alice INBOX 0
