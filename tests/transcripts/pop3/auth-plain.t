# AUTH PLAIN (RFC 5034 §4, RFC 4616): with an initial response, with "=" (empty), and failing.
state: nonauth
connections: 1
S: +OK
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==
S: -ERR [AUTH]
C: AUTH PLAIN Ym9iQGV4YW1wbGUudGVzdABhbGljZUBleGFtcGxlLnRlc3QAcGFzc3dvcmQ=
S: -ERR [AUTH]
C: AUTH PLAIN not*base64
S: -ERR
C: AUTH PLAIN
S: +
C: AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: +OK
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: -ERR
C: QUIT
S: +OK
@connect 1
S: +OK
# "=" is an empty initial response (RFC 5034 §4): an empty PLAIN message, refused at once
C: AUTH PLAIN =
S: -ERR [AUTH]
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: +OK
C: STAT
S: +OK 0 0
C: QUIT
S: +OK
