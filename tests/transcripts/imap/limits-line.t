# [limits.imap]: a line over the pre-login limit is refused and the session goes on
state: nonauth
config: limits.imap.max_line_length_before_auth = 64

C: a1 LOGIN alice@example.test aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
S: a1 BAD [TOOBIG]
C: a2 NOOP
S: a2 OK
