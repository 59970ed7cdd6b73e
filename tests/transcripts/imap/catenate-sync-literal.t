# CATENATE (RFC 4469 §5, §6): a URL that cannot be used, followed by a synchronizing
# literal. RFC 4469 lets a server refuse at once, instead of the "+" that asks for the
# literal; postoffice asks for it, reads the rest of the command and then refuses the
# whole APPEND with NO [BADURL], storing nothing (see docs/rfc-status.md).
state: authenticated
C: a1 APPEND Drafts CATENATE (URL "/Drafts/;UID=30" TEXT {4}
C: abcd)
S: a1 NO [BADURL /Drafts/;UID=30]
# with LITERAL+ (RFC 4469 §6): the literal is sent at once; the URL after it is refused
C: a2 APPEND Drafts CATENATE (TEXT {4+}
C: abcd URL "/Drafts/;UID=200")
S: a2 NO [BADURL /Drafts/;UID=200]
C: a3 STATUS Drafts (MESSAGES)
S: * STATUS Drafts (MESSAGES 0)
S: a3 OK
