# RFC 7162 §3.1.3: with CONDSTORE, STORE .SILENT still reports the new MODSEQ (no FLAGS);
# RFC 9051 §2.3.2: an unknown system flag is refused with BAD, in STORE and APPEND.
state: selected
@deliver-text alice one
@deliver-text alice two

C: a0 NOOP
S: ...
S: a0 OK
C: a1 ENABLE CONDSTORE
S: * ENABLED CONDSTORE
S: * OK [HIGHESTMODSEQ $_]
S: a1 OK
C: a2 STORE 1 +FLAGS.SILENT (\Flagged)
S: * 1 FETCH (MODSEQ ($m))
!S: * 1 FETCH (FLAGS $_)
S: a2 OK
C: a3 UID STORE 2 +FLAGS.SILENT (\Seen)
S: * 2 FETCH (UID 2 MODSEQ ($_))
S: a3 OK
C: a4 STORE 1 +FLAGS (\Foo)
S: a4 BAD
C: a5 APPEND INBOX (\Bogus) {4+}
C: a: b
S: a5 BAD
C: a6 STORE 1 +FLAGS ($Label1 \Draft)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label1 \*)]
S: * 1 FETCH (FLAGS (\Recent \Draft \Flagged $Label1) MODSEQ ($_))
S: a6 OK
