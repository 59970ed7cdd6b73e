# CONTEXT=SORT (RFC 5267 §4.3): UID SORT RETURN (UPDATE) results kept in sort order; ADDTO
# and REMOVEFROM carry the context position (§4.3.3, §4.3.4), 1-based, each applied in turn.
state: selected
connections: 2
# m1 Jan 2, m2 Jan 1, m3 Jan 3, m5 Jan 4, m7 Jan 5: UIDs 1, 2, 3, 4, 5
@deliver alice sort-mail/m1.eml
@deliver alice sort-mail/m2.eml
@deliver alice sort-mail/m3.eml
@deliver alice sort-mail/m5.eml
@deliver alice sort-mail/m7.eml

C: a0 NOOP
S: * 5 EXISTS
S: * 5 RECENT
S: a0 OK
C: a2 UID SORT RETURN (UPDATE) (DATE) UTF-8 UNSEEN
S: * ESEARCH (TAG "a2") UID ALL 2,1,3:5
S: a2 OK
C: a3 SORT RETURN (UPDATE COUNT) (REVERSE DATE) UTF-8 UNSEEN
S: * ESEARCH (TAG "a3") COUNT 5
S: a3 OK
# m4 (Jan 1, 23:00 -0800) arrives: second by date, fifth by reverse date (numbers in a3's)
@deliver alice sort-mail/m4.eml
@ordered
C: a4 NOOP
S: * 6 EXISTS
S: * 6 RECENT
S: * ESEARCH (TAG "a2") UID ADDTO (2 6)
S: * ESEARCH (TAG "a3") ADDTO (5 6)
S: a4 OK
# a2 is now 2,6,1,3,4,5. Another session reads m1 and m5 (positions 3 and 5): two runs,
# the second at its position once the first is removed.
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 UID STORE 1,4 +FLAGS.SILENT (\Seen)
2 S: b2 OK
C: a5 NOOP
S: * 1 FETCH (UID 1 FLAGS (\Seen \Recent))
S: * 4 FETCH (UID 4 FLAGS (\Seen \Recent))
S: * ESEARCH (TAG "a2") UID REMOVEFROM (3 1) REMOVEFROM (4 4)
S: * ESEARCH (TAG "a3") REMOVEFROM (2 4) REMOVEFROM (3 1)
S: a5 OK
# a2 is 2,6,3,5 and a3 5,3,6,2. Both unseen again, plus m3 seen: the removal first, then
# the insertion (m1 and m5 are next to each other now).
2 C: b3 UID STORE 1,4 -FLAGS.SILENT (\Seen)
2 S: b3 OK
2 C: b4 UID STORE 3 +FLAGS.SILENT (\Seen)
2 S: b4 OK
C: a6 NOOP
S: * 1 FETCH (UID 1 FLAGS (\Recent))
S: * 3 FETCH (UID 3 FLAGS (\Seen \Recent))
S: * 4 FETCH (UID 4 FLAGS (\Recent))
S: * ESEARCH (TAG "a2") UID REMOVEFROM (3 3) ADDTO (3 1,4)
S: * ESEARCH (TAG "a3") REMOVEFROM (2 3) ADDTO (2 4,1)
S: a6 OK
# a2 is 2,6,1,4,5: expunging m2 (first) and m7 (last) from the other session
2 C: b5 UID STORE 2,5 +FLAGS.SILENT (\Deleted)
2 S: b5 OK
2 C: b6 EXPUNGE
2 S: * 5 EXPUNGE
2 S: * 2 EXPUNGE
2 S: b6 OK
@ordered
C: a7 NOOP
S: * ESEARCH (TAG "a2") UID REMOVEFROM (1 2) REMOVEFROM (4 5)
S: * ESEARCH (TAG "a3") REMOVEFROM (1 5) REMOVEFROM (4 2)
S: * 5 EXPUNGE
S: * 2 EXPUNGE
S: a7 OK
# what the contexts now hold is what the same commands answer afresh
C: a8 UID SORT RETURN () (DATE) UTF-8 UNSEEN
S: * ESEARCH (TAG "a8") UID ALL 6,1,4
S: a8 OK
C: a9 SORT RETURN () (REVERSE DATE) UTF-8 UNSEEN
S: * ESEARCH (TAG "a9") ALL 3,1,4
S: a9 OK
# PARTIAL with UPDATE: the window is answered, the updates cover every result (§4.4)
C: a10 UID SORT RETURN (PARTIAL 1:2 UPDATE) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a10") UID PARTIAL (1:2 6,1)
S: a10 OK
