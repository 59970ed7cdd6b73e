# The seed's telnet session: a bare local part logs in at the first local domain.
protocol: pop3
state: nonauth
S: +OK
C: user alice
S: +OK
C: pass password
S: +OK
C: quit
S: +OK
