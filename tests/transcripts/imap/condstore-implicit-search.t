# RFC 7162 §3.1: a SEARCH with MODSEQ is a CONDSTORE-enabling command too: the first
# brings * OK [HIGHESTMODSEQ n] when a mailbox is selected.
state: selected
@deliver-text alice one

C: a0 NOOP
S: * 1 EXISTS
S: ...
S: a0 OK
C: a1 SEARCH MODSEQ 1
S: * OK [HIGHESTMODSEQ $_]
S: * SEARCH 1 (MODSEQ $_)
S: a1 OK
C: a2 SEARCH MODSEQ 1
!S: * OK [HIGHESTMODSEQ *
S: * SEARCH 1 (MODSEQ $_)
S: a2 OK
