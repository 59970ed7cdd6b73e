# AUTH LOGIN with the user name as initial response.
state: nonauth
S: +OK
C: AUTH LOGIN YWxpY2VAZXhhbXBsZS50ZXN0
S: +
C: cGFzc3dvcmQ=
S: +OK
C: LIST
S: +OK
S: .
C: QUIT
S: +OK
