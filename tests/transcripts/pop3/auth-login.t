# AUTH LOGIN: two challenges; "*" cancels (RFC 5034 §4); unknown mechanisms are refused.
state: nonauth
S: +OK
C: AUTH CRAM-MD5
S: -ERR
C: AUTH LOGIN
S: +
C: *
S: -ERR
C: AUTH LOGIN
S: +
C: not base64!
S: -ERR
C: AUTH LOGIN
S: +
C: YWxpY2VAZXhhbXBsZS50ZXN0
S: +
C: cGFzc3dvcmQ=
S: +OK
C: QUIT
S: +OK
