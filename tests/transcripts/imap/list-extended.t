# LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), LIST-STATUS (RFC 5819)
state: authenticated
@deliver-text alice one

C: a1 LIST (SPECIAL-USE) "" "*"
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\HasNoChildren \Drafts) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\HasNoChildren \Archive) "/" Archive
S: a1 OK
C: a2 LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN SIZE))
S: * LIST (\HasNoChildren) "/" INBOX
S: * STATUS INBOX (MESSAGES 1 UNSEEN 1 SIZE $_)
S: a2 OK
C: a3 LIST "" ("INBOX" "Sent") RETURN (SUBSCRIBED CHILDREN)
S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
S: * LIST (\HasNoChildren \Sent \Subscribed) "/" Sent
S: a3 OK
C: a4 CREATE Lists/Python
S: a4 OK
C: a5 SUBSCRIBE Lists/Python
S: a5 OK
C: a6 LIST (SUBSCRIBED RECURSIVEMATCH) "" "L%"
S: * LIST (\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))
S: a6 OK
