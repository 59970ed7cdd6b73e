# NOTIFY (RFC 5465) with CONTEXT=SEARCH (RFC 5267 §4.3): when NOTIFY watches the selected
# mailbox, an UPDATE context's ADDTO comes with the notification, between commands (EXISTS,
# ADDTO, then the FETCH NOTIFY asked for), not at the next command.
state: selected
@deliver-text alice one

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 UID SEARCH RETURN (UPDATE) UNSEEN
S: * ESEARCH (TAG "a1") UID ALL 1
S: a1 OK
C: a2 NOTIFY SET (selected (MessageNew (UID) MessageExpunge))
S: a2 OK
@deliver-text alice two
@wait 1 "* 2 EXISTS" 5s
@wait 1 "* ESEARCH (TAG \"a1\") UID ADDTO (0 2)" 5s
@wait 1 "* 2 FETCH (UID 2)" 5s
C: a3 NOOP
S: a3 OK
