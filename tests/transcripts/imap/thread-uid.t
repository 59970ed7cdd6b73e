# UID THREAD and UID SORT answer UIDs, THREAD and SORT sequence numbers (RFC 5256 §3)
state: selected
@deliver alice sort-mail/m3.eml
@deliver alice sort-mail/m2.eml
@deliver alice sort-mail/m1.eml
@deliver alice sort-mail/m4.eml

C: a0 NOOP
S: * 4 EXISTS
S: * 4 RECENT
S: a0 OK
C: a1 STORE 1 +FLAGS.SILENT (\Deleted)
S: a1 OK
C: a2 EXPUNGE
S: * 1 EXPUNGE
S: a2 OK
C: a3 THREAD REFERENCES UTF-8 ALL
S: * THREAD (1 2 3)
S: a3 OK
C: a4 UID THREAD REFERENCES UTF-8 ALL
S: * THREAD (2 3 4)
S: a4 OK
C: a5 UID THREAD ORDEREDSUBJECT UTF-8 ALL
S: * THREAD (2 (4)(3))
S: a5 OK
C: a6 SORT (REVERSE DATE) UTF-8 ALL
S: * SORT 2 3 1
S: a6 OK
C: a7 UID SORT (REVERSE DATE) UTF-8 ALL
S: * SORT 3 4 2
S: a7 OK
