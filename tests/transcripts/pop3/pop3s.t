# pop3s: implicit TLS (RFC 8314); STLS is refused there, plain-text logins allowed.
state: nonauth
tls: yes
config: auth.trusted_networks = []
S: +OK
C: STLS
S: -ERR
C: USER alice
S: +OK
C: PASS password
S: +OK
C: QUIT
S: +OK
