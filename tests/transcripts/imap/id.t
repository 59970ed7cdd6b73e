# ID (RFC 2971) in every state
state: nonauth

C: a1 ID ("name" "test")
S: * ID ("name" "postoffice" *
S: a1 OK
C: a2 LOGIN alice@example.test password
S: a2 OK
C: a3 ID NIL
S: * ID $_
S: a3 OK
C: a4 SELECT INBOX
S: ...
S: a4 OK
C: a5 ID NIL
S: * ID $_
S: a5 OK
