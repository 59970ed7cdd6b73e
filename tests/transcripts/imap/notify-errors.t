# NOTIFY refused (RFC 5465): BAD for what §5 and §6.1 forbid and for bad syntax, NO
# [BADEVENT (the events supported)] for an event the server cannot report (§3.1; no
# per-message annotations here, so AnnotationChange is one), and a refused NOTIFY SET
# leaves the one before it in force.
state: authenticated
connections: 2

# §5: MessageNew and MessageExpunge together, FlagChange only with both
C: a1 NOTIFY SET (selected (MessageNew))
S: a1 BAD
C: a2 NOTIFY SET (personal (MessageExpunge))
S: a2 BAD
C: a3 NOTIFY SET (personal (FlagChange))
S: a3 BAD
C: a4 NOTIFY SET (inboxes (MessageNew FlagChange))
S: a4 BAD
# §6.1: only message events for the selected mailbox, and one group for it
C: a5 NOTIFY SET (selected (MailboxName))
S: a5 BAD
C: a6 NOTIFY SET (selected-delayed (MessageNew MessageExpunge)) (selected NONE)
S: a6 BAD
# syntax
C: a7 NOTIFY
S: a7 BAD
C: a8 NOTIFY SET
S: a8 BAD
C: a9 NOTIFY GET (personal (MailboxName))
S: a9 BAD
C: a10 NOTIFY SET (everything (MailboxName))
S: a10 BAD
C: a11 NOTIFY SET (personal ())
S: a11 BAD
C: a12 NOTIFY SET (subtree (MailboxName))
S: a12 BAD
C: a13 NOTIFY SET (personal (MailboxName MailboxName))
S: a13 BAD
C: a14 NOTIFY NONE extra
S: a14 BAD
# §3.1: unsupported events are NO, not BAD, with the list of those supported
C: a15 NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))
S: a15 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)]
C: a16 NOTIFY SET (personal (MailboxName)) (inboxes (ACLChange))
S: a16 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)]
# events and filters are case-insensitive (§8)
C: a17 notify set (PERSONAL (mailboxname)) (Mailboxes (INBOX "No Such Box") (messagenew messageexpunge flagchange))
S: a17 OK
# a refused NOTIFY SET changes nothing: MailboxName is still on
C: a18 NOTIFY SET (personal (Nonsense))
S: a18 NO [BADEVENT *
2 C: b1 CREATE Fresh
2 S: b1 OK
@wait 1 "* LIST (\HasNoChildren) \"/\" Fresh" 5s
# NOTIFY NONE: nothing more
C: a19 NOTIFY NONE
S: a19 OK
2 C: b2 DELETE Fresh
2 S: b2 OK
C: a20 NOOP
!S: * LIST *
S: a20 OK
