# SMTP smuggling (CVE-2023-51764/51765/51766): only CRLF.CRLF ends DATA. Each variant of
# bare LF / bare CR around the dot yields one message, never a second one.
state: nonauth
users: alice

S: 220
C: EHLO client.example.test
S: 250 ...
# \n.\n
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: one\r\n\r\nx\n.\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 1
# \r.\r
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: two\r\n\r\nx\r.\rMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 2
# \n.\r\n
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: three\r\n\r\nx\n.\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 3
# \r\n.\n
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: four\r\n\r\nx\r\n.\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 4
# \r.\r\n
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: five\r\n\r\nx\r.\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 5
# \r\n.\r (then the real end)
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: six\r\n\r\nx\r\n.\rMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
@expect-count alice INBOX 6
# \n.\r (then the real end)
C!: MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n
S: 250 2.1.0
S: 250 2.1.5
S: 354
C!: Subject: seven\r\n\r\nx\n.\rMAIL FROM:<evil@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n
S: 250 2.0.0
C: NOOP
S: 250 2.0.0
@expect-count alice INBOX 7
