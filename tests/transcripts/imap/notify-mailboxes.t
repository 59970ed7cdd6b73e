# NOTIFY of mailbox events (RFC 5465 §5.4-§5.7), each reaching connection 1 while it
# sends nothing: LIST for a created mailbox, LIST with OLDNAME for each renamed one
# (children too), LIST (\NonExistent) for a deleted one; LIST with or without
# \Subscribed for a subscription change; METADATA naming the annotations changed, of a
# mailbox and of the server (RFC 5464 §4.4.2).
state: authenticated
connections: 2

C: a1 NOTIFY SET (personal (MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange))
S: a1 OK
2 C: b1 CREATE Projects/Alpha
2 S: b1 OK
@wait 1 "* LIST (\HasChildren) \"/\" Projects" 5s
@wait 1 "* LIST (\HasNoChildren) \"/\" Projects/Alpha" 5s
2 C: b2 RENAME Projects Work
2 S: b2 OK
@wait 1 "* LIST (\HasChildren) \"/\" Work (\"OLDNAME\" (Projects))" 5s
@wait 1 "* LIST (\HasNoChildren) \"/\" Work/Alpha (\"OLDNAME\" (Projects/Alpha))" 5s
2 C: b3 SUBSCRIBE Work/Alpha
2 S: b3 OK
@wait 1 "* LIST (\HasNoChildren \Subscribed) \"/\" Work/Alpha" 5s
2 C: b4 UNSUBSCRIBE Work/Alpha
2 S: b4 OK
@wait 1 "* LIST (\HasNoChildren) \"/\" Work/Alpha" 5s
2 C: b5 DELETE Work/Alpha
2 S: b5 OK
@wait 1 "* LIST (\NonExistent) \"/\" Work/Alpha" 5s
2 C: b6 SETMETADATA INBOX (/private/comment "watched")
2 S: b6 OK
@wait 1 "* METADATA INBOX /private/comment" 5s
2 C: b7 SETMETADATA "" (/shared/comment "server" /private/vendor/x "y")
2 S: b7 OK
@wait 1 "* METADATA \"\" /private/vendor/x /shared/comment" 5s
# removing an annotation is a change too
2 C: b8 SETMETADATA "" (/shared/comment NIL)
2 S: b8 OK
@wait 1 "* METADATA \"\" /shared/comment" 5s
# a group for one subtree: changes elsewhere are not told
C: a2 NOTIFY SET (subtree Work (MailboxName))
S: a2 OK
2 C: b9 CREATE Elsewhere
2 S: b9 OK
C: a3 NOOP
!S: * LIST *
S: a3 OK
2 C: b10 CREATE Work/Beta
2 S: b10 OK
@wait 1 "* LIST (\HasNoChildren) \"/\" Work/Beta" 5s
