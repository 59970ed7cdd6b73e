# RETR (RFC 1939 §5): the whole message, dot-stuffed, ending in "."; -ERR for absent/deleted.
state: nonauth
@deliver alice messages/dots.eml
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: RETR 1
@ordered
S: +OK 135 octets
S: From: Bob <bob@example.test>
S: To: alice@example.test
S: Subject: dots
S:
S: ..first line starts with a dot
S: second line
S: ...third
S: ..
S: fourth
S: .
C: RETR 2
S: -ERR
C: RETR
S: -ERR
C: RETR one
S: -ERR
C: DELE 1
S: +OK
C: RETR 1
S: -ERR
C: QUIT
S: +OK
@expect-count alice INBOX 0
