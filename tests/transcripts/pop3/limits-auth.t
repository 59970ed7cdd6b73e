# limits.pop3.max_auth_failures at its edge: the 2nd failed login ends the session
# (each after the shared failure delay of mail.auth).
state: nonauth
config: limits.pop3.max_auth_failures = 2
S: +OK
C: USER alice
S: +OK
C: PASS wrong
S: -ERR [AUTH]
C: AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB3cm9uZw==
S: -ERR [AUTH]
@expect-closed 1
