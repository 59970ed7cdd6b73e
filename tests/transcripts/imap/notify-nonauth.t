# NOTIFY needs an authenticated session (RFC 5465 §3.1: authenticated and selected states)
state: nonauth

S: * OK *
C: a1 NOTIFY NONE
S: a1 BAD
C: a2 NOTIFY SET (personal (MailboxName))
S: a2 BAD
