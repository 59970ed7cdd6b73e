# ESORT (RFC 5267 §3): SORT RETURN (MIN MAX ALL COUNT) in sort order, and PARTIAL (§4.4)
state: selected
@deliver alice sort-mail/m1.eml
@advance-clock 1m
@deliver alice sort-mail/m2.eml
@advance-clock 1m
@deliver alice sort-mail/m3.eml
@advance-clock 1m
@deliver alice sort-mail/m4.eml
@advance-clock 1m
@deliver alice sort-mail/m5.eml
@advance-clock 1m
@deliver alice sort-mail/m6.eml
@advance-clock 1m
@deliver alice sort-mail/m7.eml

C: a0 NOOP
S: * 7 EXISTS
S: * 7 RECENT
S: a0 OK
# MIN and MAX are the first and the last message in sort order (RFC 5267 §3.1)
C: a1 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a1") MIN 6 MAX 7 COUNT 7
S: a1 OK
C: a2 SORT RETURN (ALL) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a2") ALL 6,2,4,1,3,5,7
S: a2 OK
# an empty RETURN list means ALL; ascending runs may be ranges
C: a3 SORT RETURN () (ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "a3") ALL 1:7
S: a3 OK
C: a4 UID SORT RETURN (COUNT MIN) (REVERSE ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "a4") UID MIN 7 COUNT 7
S: a4 OK
C: a5 SORT RETURN (MIN MAX ALL COUNT) (DATE) UTF-8 SUBJECT nothing-like-this
S: * ESEARCH (TAG "a5") COUNT 0
S: a5 OK
# PARTIAL: the 2nd to the 4th message in sort order (RFC 5267 §4.4)
C: a6 SORT RETURN (PARTIAL 2:4) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a6") PARTIAL (2:4 2,4,1)
S: a6 OK
C: a7 SORT RETURN (PARTIAL 6:10 COUNT) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a7") COUNT 7 PARTIAL (6:10 5,7)
S: a7 OK
C: a8 SORT RETURN (PARTIAL 20:30) (DATE) UTF-8 ALL
S: * ESEARCH (TAG "a8") PARTIAL (20:30 NIL)
S: a8 OK
# errors: an unknown or repeated option, a bad range
C: a9 SORT RETURN (SAVE) (DATE) UTF-8 ALL
S: a9 BAD
C: a10 SORT RETURN (MIN MIN) (DATE) UTF-8 ALL
S: a10 BAD
C: a11 SORT RETURN (PARTIAL 0:3) (DATE) UTF-8 ALL
S: a11 BAD
C: a12 SORT RETURN (PARTIAL) (DATE) UTF-8 ALL
S: a12 BAD
C: a13 SORT RETURN (MIN) (DATE) KOI8-R ALL
S: a13 NO [BADCHARSET (US-ASCII UTF-8)]
