# NOTIFY and the selected mailbox deleted by another session (RFC 5465 §5.4, RFC 9051
# §7.1 CLOSED): told between commands, the session goes on in the authenticated state.
state: authenticated
connections: 2

C: a1 CREATE Temp
S: a1 OK
C: a2 SELECT Temp
S: ...
S: a2 OK
C: a3 NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MailboxName))
S: a3 OK
2 C: b1 DELETE Temp
2 S: b1 OK
@wait 1 "* OK [CLOSED]" 5s
@wait 1 "* LIST (\NonExistent) \"/\" Temp" 5s
C: a4 FETCH 1 (UID)
S: a4 BAD
C: a5 NOOP
S: a5 OK
