# Outside trusted_networks and without TLS: LOGINDISABLED, LOGIN refused (RFC 9051 §6.2.3)
state: nonauth
config: auth.trusted_networks = []

C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
C: a2 LOGIN alice@example.test password
S: a2 NO [PRIVACYREQUIRED]
C: a3 AUTHENTICATE PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABwYXNzd29yZA==
S: a3 NO [PRIVACYREQUIRED]
