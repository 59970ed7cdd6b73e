# SEARCH keys nest (NOT, OR, parentheses) at most [limits.imap] max_search_depth deep:
# deeper is BAD, never a crash of the session; at the edge it is searched.
state: selected
config: limits.imap.max_search_depth = 3
@deliver-text alice one

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 SEARCH NOT NOT NOT ALL
S: * SEARCH
S: a1 OK
C: a2 SEARCH NOT NOT NOT NOT ALL
S: a2 BAD
C: a3 SEARCH OR OR OR ALL ALL ALL ALL
S: * SEARCH 1
S: a3 OK
C: a4 SEARCH OR OR OR OR ALL ALL ALL ALL ALL
S: a4 BAD
C: a5 SEARCH ((NOT ALL))
S: * SEARCH
S: a5 OK
C: a6 SEARCH (((NOT ALL)))
S: a6 BAD
C: a7 NOOP
S: a7 OK
