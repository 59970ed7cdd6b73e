# After max_auth_failures failed logins the server says BYE and closes
state: nonauth
config: limits.imap.max_auth_failures = 2

C: a1 LOGIN alice@example.test bad1
S: a1 NO [AUTHENTICATIONFAILED]
C: a2 LOGIN alice@example.test bad2
S: a2 NO [AUTHENTICATIONFAILED]
S: * BYE
@expect-closed 1
