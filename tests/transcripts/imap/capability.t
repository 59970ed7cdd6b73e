# CAPABILITY in every state; STARTTLS and AUTH= only before login (RFC 9051 §6.1.1)
state: nonauth

C: a1 CAPABILITY
S: * CAPABILITY IMAP4rev1 IMAP4rev2 *
S: a1 OK
C: a2 LOGIN alice@example.test password
S: a2 OK [CAPABILITY *]
C: a3 CAPABILITY
S: * CAPABILITY *
S: a3 OK
C: a4 SELECT INBOX
S: ...
S: a4 OK [READ-WRITE]
C: a5 CAPABILITY
S: * CAPABILITY *
S: a5 OK
