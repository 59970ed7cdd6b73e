# CATENATE (RFC 4469): the example of §6 (a draft rebuilt from parts of two stored
# messages and literals), the new message exactly the concatenation; URLs of RFC 5092
# §3, relative to the server or imap:// of this host, with sections and partial ranges.
state: authenticated

C: a1 APPEND Drafts {132}
C: From: a@example.test
C: Subject: draft
C: Content-Type: multipart/mixed; boundary="b"
C:
C: --b
C: Content-Type: text/plain
C:
C: hello
C: --b--
C:
S: a1 OK [APPENDUID $uv 1]
C: a2 APPEND Drafts {27}
C: Subject: fwd
C:
C: forwarded
C:
S: a2 OK [APPENDUID $uv 2]
C: a3 APPEND Drafts (\Seen \Draft $MDNSent) CATENATE (URL "/Drafts;UIDVALIDITY=$uv/;UID=1/;section=HEADER" TEXT {42}
C:
C: --------------030308070208000400050907
C:  URL "/Drafts;UIDVALIDITY=$uv/;UID=1/;section=1.MIME" URL "/Drafts;UIDVALIDITY=$uv/;UID=1/;section=1" TEXT {42}
C:
C: --------------030308070208000400050907
C:  URL "/Drafts;UIDVALIDITY=$uv/;UID=2" TEXT {44}
C:
C: --------------030308070208000400050907--
C: )
S: a3 OK [APPENDUID $uv 3]
C: a4 EXAMINE Drafts
S: ...
S: a4 OK [READ-ONLY]
C: a5 UID FETCH 3 (FLAGS BODY.PEEK[])
S: * 3 FETCH (UID 3 FLAGS (\Draft \Recent \Seen $MDNSent) BODY[] {273}
S: From: a@example.test
S: Subject: draft
S: Content-Type: multipart/mixed; boundary="b"
S:
S:
S: --------------030308070208000400050907
S: Content-Type: text/plain
S:
S: hello
S: --------------030308070208000400050907
S: Subject: fwd
S:
S: forwarded
S:
S: --------------030308070208000400050907--
S: )
S: a5 OK
C: a6 APPEND Drafts CATENATE (URL "imap://alice%40example.test@mail.example.test/Drafts/;UID=2/;SECTION=TEXT" URL "/Drafts/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)/;PARTIAL=0.9")
S: * 4 EXISTS
S: * 4 RECENT
S: a6 OK [APPENDUID $uv 4]
C: a7 UID FETCH 4 BODY.PEEK[]
S: * 4 FETCH (UID 4 BODY[] {20}
S: forwarded
S: Subject: )
S: a7 OK
