# auth.trusted_networks empty: PLAIN and LOGIN are neither advertised nor accepted before
# TLS (538 5.7.11, RFC 4954 §6); after STARTTLS they are.
state: nonauth
listener: submission
users: alice
config: auth.trusted_networks = []

S: 220
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
S: 250-STARTTLS
S: 250-AUTH SCRAM-SHA-256
S: 250-LIMITS RCPTMAX=100
S: 250 HELP
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 538 5.7.11
C: AUTH LOGIN
S: 538 5.7.11
C: MAIL FROM:<alice@example.test>
S: 530 5.7.0
C: STARTTLS
S: 220 2.0.0
@starttls 1
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
S: 250-AUTH SCRAM-SHA-256 PLAIN LOGIN
S: 250-LIMITS RCPTMAX=100
S: 250 HELP
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
C: MAIL FROM:<alice@example.test>
S: 250 2.1.0
C: RCPT TO:<alice@example.test>
S: 250 2.1.5
C: DATA
S: 354
C: Subject: over tls
C:
C: hi
C: .
S: 250 2.0.0
@expect-count alice INBOX 1
