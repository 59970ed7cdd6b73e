# CATENATE (RFC 4469 §5, §6): a URL that cannot be used refuses the APPEND with
# NO [BADURL url] and stores nothing (MULTIAPPEND included); over the APPENDLIMIT in
# all: NO [TOOBIG] (limit at its edge: 60 octets kept, 61 refused); syntax errors BAD.
state: authenticated
users: alice bob
config: limits.imap.max_literal_size = 60

C: a1 APPEND INBOX {20}
C: Subject: s
C:
C: body!!
S: a1 OK [APPENDUID $uv 1]
C: a2 APPEND Drafts CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")
S: a2 NO [BADURL /INBOX;UIDVALIDITY=1/;UID=1]
C: a3 APPEND Drafts CATENATE (URL "/INBOX/;UID=9")
S: a3 NO [BADURL /INBOX/;UID=9]
C: a4 APPEND Drafts CATENATE (URL "/Missing/;UID=1")
S: a4 NO [BADURL /Missing/;UID=1]
C: a5 APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;SECTION=4")
S: a5 NO [BADURL /INBOX/;UID=1/;SECTION=4]
C: a6 APPEND Drafts CATENATE (URL "/INBOX/;UID=1/;SECTION=BOGUS")
S: a6 NO [BADURL /INBOX/;UID=1/;SECTION=BOGUS]
C: a7 APPEND Drafts CATENATE (URL "imap://elsewhere.example/INBOX/;UID=1")
S: a7 NO [BADURL imap://elsewhere.example/INBOX/;UID=1]
C: a8 APPEND Drafts CATENATE (URL "imap://bob%40example.test@mail.example.test/INBOX/;UID=1")
S: a8 NO [BADURL imap://bob%40example.test@mail.example.test/INBOX/;UID=1]
C: a9 APPEND Drafts CATENATE (URL "INBOX/;UID=1")
S: a9 NO [BADURL INBOX/;UID=1]
# MULTIAPPEND: the first message is good, the second has a bad URL: nothing kept
C: a10 APPEND Drafts CATENATE (URL "/INBOX/;UID=1") CATENATE (URL "/INBOX/;UID=2")
S: a10 NO [BADURL /INBOX/;UID=2]
C: a11 STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 0)
S: a11 OK
# 20 + 40 = 60 octets: at the limit
C: a12 APPEND Drafts CATENATE (URL "/INBOX/;UID=1" TEXT {40+}
C: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
C: )
S: a12 OK [APPENDUID $_ 1]
C: a13 APPEND Drafts CATENATE (URL "/INBOX/;UID=1" TEXT {41+}
C: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy
C: )
S: a13 NO [TOOBIG]
C: a14 APPEND Drafts CATENATE ()
S: a14 BAD
C: a15 APPEND Drafts CATENATE (FILE "/INBOX/;UID=1")
S: a15 BAD
C: a16 APPEND Drafts CATENATE (TEXT "quoted")
S: a16 BAD
C: a17 STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 1)
S: a17 OK
