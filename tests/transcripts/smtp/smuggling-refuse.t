# [limits.smtp] bare_lf = "refuse": a bare LF or CR in the data is read to the real end,
# then refused (550 5.6.11); nothing is kept and no second message appears.
state: nonauth
users: alice
config: limits.smtp.bare_lf = "refuse"

S: 220
C: EHLO client.example.test
S: 250 ...
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: one\r\n\r\nx\n.\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 550 5.6.11
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: two\r\n\r\nx\r.\r\nbody\r\n.\r\n
S: 550 5.6.11
@expect-count alice INBOX 0
# a clean message still passes
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: clean\r\n\r\nx\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 1
