# NAMESPACE (RFC 9051 §6.3.10): one personal namespace with "/"
state: authenticated

C: a1 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: a1 OK
C: a2 SELECT INBOX
S: ...
S: a2 OK
C: a3 NAMESPACE
S: * NAMESPACE (("" "/")) NIL NIL
S: a3 OK
