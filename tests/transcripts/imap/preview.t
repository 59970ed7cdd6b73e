# PREVIEW (RFC 8970): the preview text stored at ingestion, with the LAZY modifier
state: selected
@deliver-text alice Lorem ipsum dolor sit amet
@deliver alice sort-mail/preview-utf8.eml
@deliver alice sort-mail/preview-none.eml

C: a0 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: a0 OK
C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
# RFC 8970 §5 example form: FETCH 1 (RFC822.SIZE PREVIEW)
C: a2 FETCH 1 (RFC822.SIZE PREVIEW)
S: * 1 FETCH (RFC822.SIZE $_ PREVIEW "Lorem ipsum dolor sit amet")
S: a2 OK
# LAZY: the preview is always precomputed, so it is sent, never NIL (RFC 8970 §3.2)
C: a3 FETCH 1 (PREVIEW (LAZY))
S: * 1 FETCH (PREVIEW "Lorem ipsum dolor sit amet")
S: a3 OK
C: a4 FETCH 1 PREVIEW (LAZY)
S: * 1 FETCH (PREVIEW "Lorem ipsum dolor sit amet")
S: a4 OK
# whitespace folded; 8-bit text goes as a literal in an IMAP4rev1 session
C: a5 FETCH 2 (PREVIEW)
S: * 2 FETCH (PREVIEW {17}
S: Grüße aus Köln)
S: a5 OK
# no text part: an empty preview, not NIL (RFC 8970 §3.1)
C: a6 UID FETCH 3 (PREVIEW (LAZY))
S: * 3 FETCH (UID 3 PREVIEW "")
S: a6 OK
# PREVIEW does not set \Seen
C: a7 FETCH 1:3 (FLAGS PREVIEW)
S: * 1 FETCH (FLAGS (\Recent) PREVIEW "Lorem ipsum dolor sit amet")
S: * 2 FETCH (FLAGS (\Recent) PREVIEW {17}
S: Grüße aus Köln)
S: * 3 FETCH (FLAGS (\Recent) PREVIEW "")
S: a7 OK
# errors: an unknown modifier, an unclosed list
C: a8 FETCH 1 (PREVIEW (FUZZY))
S: a8 BAD
C: a9 FETCH 1 (PREVIEW (LAZY)
S: a9 BAD
C: a10 FETCH 1 PREVIEW (LAZY
S: a10 BAD
