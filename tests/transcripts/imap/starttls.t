# STARTTLS (RFC 9051 §6.2.1): after the handshake STARTTLS is gone from CAPABILITY
state: nonauth

C: a1 STARTTLS
S: a1 OK
@starttls 1
C: a2 CAPABILITY
S: * CAPABILITY *
!S: * CAPABILITY *STARTTLS*
S: a2 OK
C: a3 STARTTLS
S: a3 BAD
C: a4 LOGIN alice@example.test password
S: a4 OK
C: a5 STARTTLS
S: a5 BAD
