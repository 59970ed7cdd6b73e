# STARTTLS (RFC 3207) in every state: refused inside a transaction (503 5.5.1) and once
# TLS is active; commands pipelined after it are thrown away (CVE-2011-0411).
state: nonauth
users: alice

S: 220
C: STARTTLS
S: 220 2.0.0
@starttls 1
C: EHLO client.example.test
S: 250 ...
@connect 1
S: 220
C!: STARTTLS\r\nFROB\r\n
S: 220 2.0.0
@starttls 1
# FROB was discarded: the first answer is NOOP's
C: NOOP
S: 250 2.0.0
C: EHLO client.example.test
S: 250-mail.example.test *
S: 250-PIPELINING
S: 250-SIZE 2147483648
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-CHUNKING
S: 250-BINARYMIME
S: 250-ENHANCEDSTATUSCODES
S: 250-DSN
S: 250-LIMITS RCPTMAX=1000
S: 250 HELP
C: STARTTLS
S: 503 5.5.1
@connect 1
S: 220
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: STARTTLS
S: 503 5.5.1
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: STARTTLS
S: 503 5.5.1
C: RSET
S: 250 2.0.0
C: STARTTLS
S: 220 2.0.0
@starttls 1
# RFC 3207 §4.2: the session starts afresh
C: MAIL FROM:<a@remote.test>
S: 503 5.5.1
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<a@remote.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: tls
C:
C: hi
C: .
S: 250 2.0.0
@expect-count alice INBOX 1
