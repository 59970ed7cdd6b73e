# AUTH PLAIN with an initial response, "=" for an empty one, and the MX listener
# (no AUTH at all: 502 5.5.1).
state: nonauth
users: alice

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
S: 250-LIMITS RCPTMAX=1000
S: 250 HELP
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 502 5.5.1
@connect 1 submission
S: 220
C: EHLO client.example.test
S: 250 ...
# "=" is an empty initial response (RFC 4954 §4): an empty PLAIN message, refused at
# once, never answered with a 334
C: AUTH PLAIN =
S: 535 5.7.8
C: AUTH PLAIN
S: 334
C: *
S: 501 5.0.0
C: AUTH PLAIN
S: 334
C: AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: 235 2.7.0
