# Exclusive maildrop (RFC 1939 §8, RFC 2449 §8.1.1): a second session gets -ERR [IN-USE],
# stays in AUTHORIZATION and can log in once the first has quit.
state: nonauth
connections: 2
S: +OK
2 S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
2 C: USER alice
2 S: +OK
2 C: PASS password
2 S: -ERR [IN-USE]
2 C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
2 S: -ERR [IN-USE]
2 C: STAT
2 S: -ERR
C: QUIT
S: +OK
@expect-closed 1
2 C: USER alice
2 S: +OK
2 C: PASS password
2 S: +OK
2 C: QUIT
2 S: +OK
