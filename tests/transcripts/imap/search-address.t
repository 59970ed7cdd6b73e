# FROM / TO / CC / BCC match display names in every form: "Name" <addr>, the comment
# form addr (Name), and group names (RFC 3501 §6.4.4, RFC 5322 §3.4). HEADER searches
# every occurrence of the field. A body search does not stop at a NUL byte.
state: selected
@deliver alice messages/addr-comment.eml
@deliver alice messages/nul-body.eml

C: a0 NOOP
S: * 2 EXISTS
S: ...
S: a0 OK
C: a1 SEARCH FROM "Alice Liddell"
S: * SEARCH 1
S: a1 OK
C: a2 SEARCH FROM liddell
S: * SEARCH 1
S: a2 OK
C: a3 SEARCH TO undisclosed-recipients
S: * SEARCH 1
S: a3 OK
C: a4 SEARCH CC "Bob Builder"
S: * SEARCH 1
S: a4 OK
C: a5 SEARCH BCC Friends
S: * SEARCH 1
S: a5 OK
C: a6 SEARCH BCC "Carol Comment"
S: * SEARCH 1
S: a6 OK
C: a7 SEARCH FROM dave@example
S: * SEARCH 2
S: a7 OK
C: a8 SEARCH HEADER Received second.example.test
S: * SEARCH 1
S: a8 OK
C: a9 SEARCH HEADER X-Tag two
S: * SEARCH 1
S: a9 OK
C: a10 SEARCH HEADER X-Tag one
S: * SEARCH 1
S: a10 OK
C: a11 SEARCH BODY needle-past-nul
S: * SEARCH 2
S: a11 OK
C: a12 SEARCH TEXT needle-past-nul
S: * SEARCH 2
S: a12 OK
C: a13 SEARCH BODY before
S: * SEARCH 2
S: a13 OK
# A field given twice: both occurrences are searched (indexed fields too).
C: a14 SEARCH HEADER Subject "second subject"
S: * SEARCH 1
S: a14 OK
C: a15 SEARCH SUBJECT "second subject"
S: * SEARCH 1
S: a15 OK
C: a16 SEARCH TO second-to
S: * SEARCH 1
S: a16 OK
C: a17 SEARCH HEADER To second-to
S: * SEARCH 1
S: a17 OK
