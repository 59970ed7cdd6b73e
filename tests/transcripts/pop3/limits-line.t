# limits.pop3.max_line_length at its edge: a line of exactly the limit (CRLF included)
# is read; one octet more is -ERR and the session goes on.
state: nonauth
config: limits.pop3.max_line_length = 16
S: +OK
C: USER abcdefghi
S: +OK
C: USER abcdefghij
S: -ERR
C: USER alice
S: +OK
C: PASS password
S: +OK
C: QUIT
S: +OK
