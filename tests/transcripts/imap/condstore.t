# CONDSTORE (RFC 7162 §3.1): MODSEQ in FETCH, CHANGEDSINCE, UNCHANGEDSINCE with MODIFIED
state: authenticated
@deliver-text alice one
@deliver-text alice two

C: a1 SELECT INBOX (CONDSTORE)
S: * OK [HIGHESTMODSEQ $m0]
S: ...
S: a1 OK
C: a2 FETCH 1:2 (FLAGS MODSEQ)
S: * 1 FETCH (FLAGS (\Recent) MODSEQ ($m1))
S: * 2 FETCH (FLAGS (\Recent) MODSEQ ($m2))
S: a2 OK
C: a3 STORE 1 +FLAGS (\Seen)
S: * 1 FETCH (FLAGS (\Recent \Seen) MODSEQ ($m3))
S: a3 OK
C: a4 FETCH 1:* (FLAGS) (CHANGEDSINCE $m2)
S: * 1 FETCH (FLAGS (\Recent \Seen) MODSEQ ($m3))
S: a4 OK
C: a5 STORE 1:2 (UNCHANGEDSINCE $m2) +FLAGS (\Flagged)
S: * 2 FETCH (FLAGS (\Recent \Flagged) MODSEQ ($_))
S: a5 OK [MODIFIED 1]
C: a6 SEARCH MODSEQ $m3
S: * SEARCH 1 2 (MODSEQ $_)
S: a6 OK
