# AUTHENTICATE PLAIN with an initial response, then the selected state works
state: nonauth

# "=" is an empty initial response (RFC 4959 §3): an empty PLAIN message, refused at once
C: a0 AUTHENTICATE PLAIN =
S: a0 NO

C: a1 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: a1 OK
C: a2 AUTHENTICATE XFOO
S: a2 BAD
C: a3 SELECT INBOX
S: ...
S: a3 OK [READ-WRITE]
