# ENABLE (RFC 5161): only after login; answers ENABLED with what it enabled
state: nonauth

C: a1 ENABLE CONDSTORE
S: a1 BAD
C: a2 LOGIN alice@example.test password
S: a2 OK
C: a3 ENABLE CONDSTORE XUNKNOWN
S: * ENABLED CONDSTORE
S: a3 OK
C: a4 SELECT INBOX
S: ...
S: a4 OK
C: a5 ENABLE QRESYNC IMAP4rev2
S: * ENABLED QRESYNC IMAP4rev2
S: a5 OK
