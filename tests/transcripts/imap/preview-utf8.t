# PREVIEW after ENABLE UTF8=ACCEPT: the text may be a quoted UTF-8 string (RFC 6855 §3)
state: authenticated

C: a1 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: a1 OK
@deliver alice sort-mail/preview-utf8.eml
C: a2 SELECT INBOX
S: * 1 EXISTS
S: ...
S: a2 OK [READ-WRITE]
C: a3 FETCH 1 (PREVIEW)
S: * 1 FETCH (PREVIEW "Grüße aus Köln")
S: a3 OK
