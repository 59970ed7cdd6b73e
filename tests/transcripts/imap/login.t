# LOGIN (RFC 9051 §6.2.3): success carries CAPABILITY; a wrong password is AUTHENTICATIONFAILED
state: nonauth

C: a1 LOGIN alice@example.test wrong
S: a1 NO [AUTHENTICATIONFAILED]
C: a2 LOGIN "alice@example.test" "password"
S: a2 OK [CAPABILITY *]
C: a3 LOGIN alice@example.test password
S: a3 BAD
