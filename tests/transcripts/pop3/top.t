# TOP: the header, the blank line, n body lines; dot-stuffed; bad arguments refused.
state: nonauth
@deliver alice messages/dots.eml
S: +OK
C: USER alice
S: +OK
C: PASS password
S: +OK
C: TOP 1 2
@ordered
S: +OK
S: From: Bob <bob@example.test>
S: To: alice@example.test
S: Subject: dots
S:
S: ..first line starts with a dot
S: second line
S: .
C: TOP 1 0
@ordered
S: +OK
S: From: Bob <bob@example.test>
S: To: alice@example.test
S: Subject: dots
S:
S: .
C: TOP 1 100
@ordered
S: +OK
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
C: TOP 2 1
S: -ERR
C: TOP 1
S: -ERR
C: TOP 1 x
S: -ERR
C: DELE 1
S: +OK
C: TOP 1 1
S: -ERR
C: QUIT
S: +OK
