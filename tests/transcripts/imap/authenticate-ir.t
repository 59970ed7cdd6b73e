# AUTHENTICATE PLAIN with an initial response, then the selected state works
state: nonauth

C: a1 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: a1 OK
C: a2 AUTHENTICATE XFOO
S: a2 BAD
C: a3 SELECT INBOX
S: ...
S: a3 OK [READ-WRITE]
