# RENAME (RFC 9051 §6.3.6): children follow; renaming INBOX moves its messages
state: authenticated
connections: 2
@deliver-text alice one

1 C: a1 CREATE A/B
1 S: a1 OK
1 C: a2 RENAME A Z
1 S: a2 OK
2 C: b1 LIST "" "*"
2 S: * LIST (\HasChildren) "/" Z
2 S: * LIST (\HasNoChildren) "/" Z/B
2 S: ...
2 !S: * LIST (\HasNoChildren) "/" A/B
2 S: b1 OK
1 C: a3 RENAME Missing Other
1 S: a3 NO [NONEXISTENT]
1 C: a4 RENAME Z Sent
1 S: a4 NO [ALREADYEXISTS]
1 C: a5 RENAME INBOX Old-Inbox
1 S: a5 OK
1 C: a6 STATUS Old-Inbox (MESSAGES)
1 S: * STATUS Old-Inbox (MESSAGES 1)
1 S: a6 OK
1 C: a7 SELECT INBOX
1 S: * 0 EXISTS
1 S: ...
1 S: a7 OK
1 C: a8 RENAME Z/B Z/C
1 S: a8 OK
