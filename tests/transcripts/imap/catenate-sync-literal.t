# CATENATE (RFC 4469 §5, §6): a URL that cannot be used, followed by a synchronizing
# literal: the server refuses at once with NO [BADURL] instead of the "+" that would ask
# for the literal, and the client sends nothing more of the command; a good URL gets the
# "+". With LITERAL+ the literal is on its way already, and the bad URL after it is
# refused when the command is complete. Nothing is stored.
state: authenticated
C!: a1 APPEND Drafts CATENATE (URL "/Drafts/;UID=30" TEXT {4}\r\n
S: a1 NO [BADURL /Drafts/;UID=30]
C: a2 APPEND Drafts CATENATE (TEXT {4+}
C: abcd URL "/Drafts/;UID=200")
S: a2 NO [BADURL /Drafts/;UID=200]
C: a3 APPEND Drafts {20}
C: Subject: s
C:
C: body!!
S: a3 OK [APPENDUID $uv 1]
C: a4 APPEND Drafts CATENATE (URL "/Drafts/;UID=1" TEXT {6}
C: more!!)
S: a4 OK [APPENDUID $uv 2]
C: a5 STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 2)
S: a5 OK
