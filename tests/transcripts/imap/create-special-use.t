# CREATE-SPECIAL-USE (RFC 6154 §3): CREATE with a USE list; unsupported uses get NO [USEATTR]
state: authenticated

# RFC 6154 §5.2 example form
C: t1 CREATE MySpecialArchive (USE (\Archive))
S: t1 OK [MAILBOXID $_]
C: t2 LIST "" MySpecial*
S: * LIST (\HasNoChildren \Archive) "/" MySpecialArchive
S: t2 OK
C: t3 LIST (SPECIAL-USE) "" *
S: * LIST (\HasNoChildren \Archive) "/" MySpecialArchive
S: ...
S: t3 OK
C: t4 CREATE Stuff (USE (\Junk \Trash))
S: t4 NO [USEATTR]
C: t5 CREATE Other (USE (\Bogus))
S: t5 NO [USEATTR]
C: t6 LIST "" Other
S: t6 OK
C: t7 CREATE Flagged (USE (\flagged))
S: t7 OK
C: t8 LIST "" Flagged
S: * LIST (\HasNoChildren \Flagged) "/" Flagged
S: t8 OK
C: t9 CREATE Bad (USE)
S: t9 BAD
C: t10 CREATE MySpecialArchive (USE (\Archive))
S: t10 NO [ALREADYEXISTS]
