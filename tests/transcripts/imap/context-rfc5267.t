# RFC 5267's examples, adapted to the sort-mail messages: §3.3 (SORT RETURN with MIN,
# MAX, ALL and COUNT on a date criterion; §3.2: a range is ascending, so a descending
# run is listed number by number), §4.2 (the CONTEXT hint alone answers ALL), §4.4
# (paging through UNDELETED UNKEYWORD $Junk in REVERSE DATE order with PARTIAL), §4.3
# (an UPDATE context with PARTIAL is told of changes anywhere in the whole result,
# ADDTO and REMOVEFROM at their 1-based positions), §4.3.5 (CANCELUPDATE).
state: selected
# by date: m2 (UID 2) Jan 1, m1 (UID 1) Jan 2, m3 (UID 3) Jan 3, m5 (UID 4) Jan 4, m7 (UID 5) Jan 5
@deliver alice sort-mail/m1.eml
@deliver alice sort-mail/m2.eml
@deliver alice sort-mail/m3.eml
@deliver alice sort-mail/m5.eml
@deliver alice sort-mail/m7.eml

C: a0 NOOP
S: * 5 EXISTS
S: * 5 RECENT
S: a0 OK
# §3.3: sent on or after 2 January are messages 1, 3, 4 and 5
C: A282 SORT RETURN (MIN) (DATE) UTF-8 SENTSINCE 2-Jan-2024
S: * ESEARCH (TAG "A282") MIN 1
S: A282 OK
C: A283 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 SENTSINCE 2-Jan-2024
S: * ESEARCH (TAG "A283") MIN 1 MAX 5 COUNT 4
S: A283 OK
C: A284 SORT RETURN (ALL) (DATE) UTF-8 SENTSINCE 2-Jan-2024
S: * ESEARCH (TAG "A284") ALL 1,3:5
S: A284 OK
C: A285 SORT RETURN (ALL) (REVERSE DATE) UTF-8 SENTSINCE 2-Jan-2024
S: * ESEARCH (TAG "A285") ALL 5,4,3,1
S: A285 OK
# §4.2: CONTEXT is a hint; with no other result option the answer is ALL
C: A286 SEARCH RETURN (CONTEXT) SENTSINCE 2-Jan-2024
S: * ESEARCH (TAG "A286") ALL 1,3:5
S: A286 OK
# §4.4: one message is junk; the rest in pages of two, newest first
C: A287 UID STORE 3 +FLAGS.SILENT ($Junk)
S: A287 OK
C: E01 UID SORT RETURN (PARTIAL 1:2) (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "E01") UID PARTIAL (1:2 5,4)
S: E01 OK
C: E02 UID SORT RETURN (PARTIAL 3:4) (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "E02") UID PARTIAL (3:4 1:2)
S: E02 OK
C: E03 UID SORT RETURN (PARTIAL 5:6 COUNT) (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "E03") UID COUNT 4 PARTIAL (5:6 NIL)
S: E03 OK
# §4.3 with §4.4: the first page kept up to date; the updates cover the whole result
C: B01 UID SORT RETURN (UPDATE PARTIAL 1:2) (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "B01") UID PARTIAL (1:2 5,4)
S: B01 OK
# m4 (UID 6) was sent on 1 January at 23:00 -0800, after m1: fourth of 5,4,1,6,2
@deliver alice sort-mail/m4.eml
@ordered
C: B02 NOOP
S: * 6 EXISTS
S: * 6 RECENT
S: * ESEARCH (TAG "B01") UID ADDTO (4 6)
S: B02 OK
# the newest becomes junk: it leaves position 1; m3 stops being junk: position 2 of 4,3,1,6,2
C: B03 UID STORE 5 +FLAGS.SILENT ($Junk)
S: * ESEARCH (TAG "B01") UID REMOVEFROM (1 5)
S: B03 OK
C: B04 UID STORE 3 -FLAGS.SILENT ($Junk)
S: * ESEARCH (TAG "B01") UID ADDTO (2 3)
S: B04 OK
# deleted but not yet expunged: UNDELETED no longer matches
C: B05 UID STORE 1 +FLAGS.SILENT (\Deleted)
S: * ESEARCH (TAG "B01") UID REMOVEFROM (3 1)
S: B05 OK
# what the context holds is what the same command answers afresh
C: B06 UID SORT RETURN (ALL) (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "B06") UID ALL 4,3,6,2
S: B06 OK
# §4.3.5
C: B07 CANCELUPDATE "B01"
S: B07 OK
C: B08 UID STORE 1 -FLAGS.SILENT (\Deleted)
!S: * ESEARCH
S: B08 OK
