# [limits.imap]: commands before login, then BYE
state: nonauth
config: limits.imap.max_commands_before_auth = 3

C: a1 NOOP
S: a1 OK
C: a2 CAPABILITY
S: * CAPABILITY *
S: a2 OK
C: a3 NOOP
S: a3 OK
C: a4 NOOP
S: * BYE
@expect-closed 1
