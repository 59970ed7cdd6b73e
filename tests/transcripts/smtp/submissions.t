# The submissions listener (RFC 8314, implicit TLS): STARTTLS is refused, PLAIN is offered
# even with no trusted network.
state: nonauth
listener: submissions
tls: yes
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
S: 250-AUTH SCRAM-SHA-256 PLAIN LOGIN
S: 250-LIMITS RCPTMAX=100
S: 250 HELP
C: STARTTLS
S: 503 5.5.1
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
