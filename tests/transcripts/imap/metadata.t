# METADATA (RFC 5464): the examples of §4.2 and §4.3, server ("") and mailbox annotations,
# DEPTH and MAXSIZE, values as literals, NIL removes; entry names are case-insensitive.
state: authenticated

C: a1 SETMETADATA "" (/shared/comment "Shared comment")
S: a1 OK
# RFC 5464 §4.2.1 (first example)
C: a2 GETMETADATA "" /shared/comment
S: * METADATA "" (/shared/comment "Shared comment")
S: a2 OK
# §4.3: a value sent as a literal spanning two lines
C: a3 SETMETADATA INBOX (/private/comment {33}
C: My new comment across
C: two lines.)
S: a3 OK
C: a4 GETMETADATA INBOX /private/comment
S: * METADATA INBOX (/private/comment {33}
S: My new comment across
S: two lines.)
S: a4 OK
C: a5 SETMETADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")
S: a5 OK
C: a6 GETMETADATA INBOX (/shared/comment /private/comment)
S: * METADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")
S: a6 OK
# §4.2.1 MAXSIZE: the longer value is left out, its size told in LONGENTRIES
C: a7 GETMETADATA (MAXSIZE 5) INBOX (/shared/comment /private/comment)
S: a7 OK [METADATA LONGENTRIES 14]
C: a8 GETMETADATA (MAXSIZE 14) INBOX (/shared/comment /private/comment)
S: * METADATA INBOX (/shared/comment "Shared comment" /private/comment "My own comment")
S: a8 OK
C: a9 GETMETADATA (MAXSIZE 13) INBOX /private/Comment
S: a9 OK [METADATA LONGENTRIES 14]
# §4.2.2 DEPTH
C: a10 SETMETADATA INBOX (/private/filters/values/small "SMALLER_THAN 1MB" /private/filters/values/big "BIGGER_THAN 1MB" /private/filters/values/big/x "deeper")
S: a10 OK
C: a11 GETMETADATA (DEPTH 1) INBOX (/private/filters/values)
S: * METADATA INBOX (/private/filters/values NIL /private/filters/values/big "BIGGER_THAN 1MB" /private/filters/values/small "SMALLER_THAN 1MB")
S: a11 OK
C: a12 GETMETADATA (DEPTH infinity) INBOX /private/filters
S: * METADATA INBOX (/private/filters NIL /private/filters/values/big "BIGGER_THAN 1MB" /private/filters/values/big/x "deeper" /private/filters/values/small "SMALLER_THAN 1MB")
S: a12 OK
C: a13 GETMETADATA (DEPTH 0) INBOX /private/filters
S: * METADATA INBOX (/private/filters NIL)
S: a13 OK
# §4.3: NIL removes an entry
C: a14 SETMETADATA INBOX (/private/comment NIL)
S: a14 OK
C: a15 GETMETADATA INBOX /private/comment
S: * METADATA INBOX (/private/comment NIL)
S: a15 OK
# the server's annotations are not INBOX's
C: a16 GETMETADATA "" /private/comment
S: * METADATA "" (/private/comment NIL)
S: a16 OK
