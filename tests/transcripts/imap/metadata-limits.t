# METADATA (RFC 5464 §4.3) limits at their edge: [limits.imap] max_metadata_size = 30
# (30 octets kept, 31 refused with NO [METADATA MAXSIZE 30]) and max_metadata_entries = 3
# per mailbox (a 4th refused with NO [METADATA TOOMANY], and nothing of that command
# kept); bad entry names and options are BAD; a missing mailbox is NO [NONEXISTENT];
# annotations go with their mailbox (DELETE) and stay with it across RENAME.
state: selected
config: limits.imap.max_metadata_size = 30
config: limits.imap.max_metadata_entries = 3

C: a1 SETMETADATA INBOX (/private/a "123456789012345678901234567890")
S: a1 OK
C: a2 SETMETADATA INBOX (/private/b "1234567890123456789012345678901")
S: a2 NO [METADATA MAXSIZE 30]
C: a3 GETMETADATA INBOX /private/b
S: * METADATA INBOX (/private/b NIL)
S: a3 OK
C: a4 SETMETADATA INBOX (/private/b "2" /shared/c "3")
S: a4 OK
C: a5 SETMETADATA INBOX (/private/d "4" /private/a "replaced")
S: a5 NO [METADATA TOOMANY]
C: a6 GETMETADATA INBOX (/private/a /private/d)
S: * METADATA INBOX (/private/a "123456789012345678901234567890" /private/d NIL)
S: a6 OK
# replacing and removing in one command: still 3
C: a7 SETMETADATA INBOX (/private/d "4" /private/a NIL /shared/c "three")
S: a7 OK
C: a8 GETMETADATA (DEPTH infinity) INBOX (/private /shared)
S: * METADATA INBOX (/private/b "2" /private/d "4" /shared/c "three")
S: a8 OK
C: a9 GETMETADATA (DEPTH 1) INBOX /shared/c
S: * METADATA INBOX (/shared/c "three")
S: a9 OK
# the limit is per mailbox: the server and another mailbox have their own 3
C: a10 SETMETADATA "" (/private/x "1" /private/y "2" /private/z "3")
S: a10 OK
C: a11 SETMETADATA "" (/private/w "4")
S: a11 NO [METADATA TOOMANY]
C: a12 SETMETADATA Archive (/shared/comment "old mail")
S: a12 OK
# names: RFC 5464 §3.2
C: a13 SETMETADATA INBOX (/other/x "1")
S: a13 BAD
C: a14 SETMETADATA INBOX (/private/x/ "1")
S: a14 BAD
C: a14b SETMETADATA INBOX (/private "1")
S: a14b BAD
C: a15 GETMETADATA INBOX /private//x
S: a15 BAD
C: a16 GETMETADATA INBOX /private/*
S: a16 BAD
C: a17 GETMETADATA (DEPTH 2) INBOX /private/x
S: a17 BAD
C: a18 GETMETADATA (COLOR 1) INBOX /private/x
S: a18 BAD
C: a19 SETMETADATA INBOX ()
S: a19 BAD
C: a20 GETMETADATA Missing /private/comment
S: a20 NO [NONEXISTENT]
C: a21 SETMETADATA Missing (/private/comment "x")
S: a21 NO [NONEXISTENT]
# annotations follow RENAME and go with DELETE
C: a22 RENAME Archive Old
S: a22 OK
C: a23 GETMETADATA Old /shared/comment
S: * METADATA Old (/shared/comment "old mail")
S: a23 OK
C: a24 DELETE Old
S: a24 OK
C: a25 CREATE Old
S: a25 OK
C: a26 GETMETADATA Old /shared/comment
S: * METADATA Old (/shared/comment NIL)
S: a26 OK
