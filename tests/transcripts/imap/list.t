# LIST (RFC 9051 §6.3.9): wildcards, special-use attributes, the delimiter query
state: authenticated

C: a1 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: a1 OK
C: a2 LIST "" "*"
S: * LIST (\HasNoChildren) "/" INBOX
S: * LIST (\HasNoChildren \Sent) "/" Sent
S: * LIST (\HasNoChildren \Drafts) "/" Drafts
S: * LIST (\HasNoChildren \Trash) "/" Trash
S: * LIST (\HasNoChildren \Junk) "/" Junk
S: * LIST (\HasNoChildren \Archive) "/" Archive
S: a2 OK
C: a3 CREATE Work/2024/Q1
S: a3 OK
C: a4 LIST "" "Work/%"
S: * LIST (\HasChildren) "/" Work/2024
S: a4 OK
C: a5 LIST "Work/" "%"
S: * LIST (\HasChildren) "/" Work/2024
S: a5 OK
C: a6 LIST "" "inbox"
S: * LIST (\HasNoChildren) "/" INBOX
S: a6 OK
C: a7 SELECT INBOX
S: ...
S: a7 OK
C: a8 LIST "" "W*"
S: * LIST (\HasChildren) "/" Work
S: * LIST (\HasChildren) "/" Work/2024
S: * LIST (\HasNoChildren) "/" Work/2024/Q1
S: a8 OK
