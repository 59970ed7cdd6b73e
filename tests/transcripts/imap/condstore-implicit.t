# RFC 7162 §3.1: the first CONDSTORE-enabling command (here a FETCH of MODSEQ) in a
# session with a mailbox selected brings * OK [HIGHESTMODSEQ n], once.
# RFC 4731 §3.2 / RFC 7162 §3.1.5: SEARCH RETURN (MIN) / (MAX) with a MODSEQ criterion
# returns the mod-sequence of the message(s) returned, not of every match.
state: selected
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

C: a0 NOOP
S: * 3 EXISTS
S: ...
S: a0 OK
C: a1 STORE 3 +FLAGS (\Flagged)
S: * 3 FETCH (FLAGS (\Recent \Flagged))
S: a1 OK
C: a2 FETCH 1 (MODSEQ)
S: * OK [HIGHESTMODSEQ $h]
S: * 1 FETCH (MODSEQ ($m1))
S: a2 OK
C: a3 FETCH 2 (MODSEQ)
!S: * OK [HIGHESTMODSEQ *
S: * 2 FETCH (MODSEQ ($m2))
S: a3 OK
C: a4 FETCH 3 (MODSEQ)
S: * 3 FETCH (MODSEQ ($h))
S: a4 OK
C: a5 SEARCH RETURN (MIN) MODSEQ 1
S: * ESEARCH (TAG "a5") MIN 1 MODSEQ $m1
S: a5 OK
C: a6 SEARCH RETURN (MAX) MODSEQ 1
S: * ESEARCH (TAG "a6") MAX 3 MODSEQ $h
S: a6 OK
C: a7 SEARCH RETURN (MIN COUNT) MODSEQ 1
S: * ESEARCH (TAG "a7") MIN 1 COUNT 3 MODSEQ $h
S: a7 OK
C: a8 SEARCH RETURN (MIN) MODSEQ 1 1:2
S: * ESEARCH (TAG "a8") MIN 1 MODSEQ $m1
S: a8 OK
