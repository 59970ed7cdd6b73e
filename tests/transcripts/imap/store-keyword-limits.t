# Keywords have a length limit and a per-mailbox count limit ([limits.imap]
# max_keyword_length, max_keywords_per_mailbox), each tested at its edge: STORE and
# APPEND over a limit get NO [LIMIT] (RFC 5530) and change nothing.
state: selected
config: limits.imap.max_keyword_length = 10
config: limits.imap.max_keywords_per_mailbox = 3
@deliver-text alice one
@deliver-text alice two

C: a0 NOOP
S: * 2 EXISTS
S: * 2 RECENT
S: a0 OK
C: a1 STORE 1 +FLAGS (k123456789)
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen k123456789)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft k123456789 \*)]
S: * 1 FETCH (FLAGS (\Recent k123456789))
S: a1 OK
C: a2 STORE 1 +FLAGS (k1234567890)
!S: * 1 FETCH *
S: a2 NO [LIMIT]
C: a3 STORE 2 +FLAGS (\Seen two three)
# the third keyword reaches the limit: PERMANENTFLAGS no longer offers \* (RFC 3501 §7.1)
S: * FLAGS (\Answered \Deleted \Draft \Flagged \Seen k123456789 three two)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft k123456789 three two)]
S: * 2 FETCH (FLAGS (\Recent \Seen three two))
S: a3 OK
# three keywords in use: a fourth is refused, one in use may be set anywhere
C: a4 STORE 1:2 +FLAGS (four)
!S: * 1 FETCH *
S: a4 NO [LIMIT]
C: a5 STORE 1 +FLAGS (two $_x)
!S: * 1 FETCH *
S: a5 NO [LIMIT]
C: a6 STORE 1 +FLAGS (two)
S: * 1 FETCH (FLAGS (\Recent k123456789 two))
S: a6 OK
C: a7 APPEND INBOX (four) {9}
C: a: b
C: 
C: c
S: a7 NO [LIMIT]
C: a8 APPEND INBOX (three) {9}
C: a: b
C: 
C: c
S: * 3 EXISTS
S: * 3 RECENT
S: a8 OK [APPENDUID $_ 3]
C: a9 APPEND INBOX (k1234567890) {9}
C: a: b
C: 
C: c
S: a9 NO [LIMIT]
