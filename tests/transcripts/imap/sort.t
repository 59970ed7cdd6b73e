# SORT (RFC 5256 §3, §4) with every sort key, and SORT=DISPLAY (RFC 5957)
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
C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
C: a2 SORT (ARRIVAL) UTF-8 ALL
S: * SORT 1 2 3 4 5 6 7
S: a2 OK
C: a3 SORT (REVERSE ARRIVAL) US-ASCII ALL
S: * SORT 7 6 5 4 3 2 1
S: a3 OK
# RFC 5256 §2.2: the Date header in UTC; m6 has none, so its internal date (2023) counts
C: a4 SORT (DATE) UTF-8 ALL
S: * SORT 6 2 4 1 3 5 7
S: a4 OK
C: a5 SORT (REVERSE DATE) UTF-8 ALL
S: * SORT 7 5 3 1 4 2 6
S: a5 OK
# addr-mailbox of the first address; none sorts first, ties in mailbox order
C: a6 SORT (FROM) UTF-8 ALL
S: * SORT 2 3 1 4 5 6 7
S: a6 OK
C: a7 SORT (TO) UTF-8 ALL
S: * SORT 6 3 7 1 5 4 2
S: a7 OK
C: a8 SORT (CC) UTF-8 ALL
S: * SORT 2 4 5 6 7 3 1
S: a8 OK
C: a9 SORT (SIZE) UTF-8 ALL
S: * SORT 7 3 5 1 4 6 2
S: a9 OK
# RFC 5256 §2.1 base subject: "Re: Lunch", "Re: Re: lunch", "[list] Fwd: Report (fwd)"
C: a10 SORT (SUBJECT) UTF-8 ALL
S: * SORT 1 2 4 6 3 5 7
S: a10 OK
C: a11 SORT (SUBJECT REVERSE DATE) UTF-8 ALL
S: * SORT 1 4 2 6 7 5 3
S: a11 OK
# RFC 5957: the display name (RFC 2047 decoded), else the addr-spec
C: a12 SORT (DISPLAYFROM) UTF-8 ALL
S: * SORT 2 3 4 5 6 7 1
S: a12 OK
C: a13 SORT (DISPLAYTO) UTF-8 ALL
S: * SORT 6 3 7 5 1 4 2
S: a13 OK
# RFC 5256 §4 example: a search program limits what is sorted
C: a14 SORT (DATE) UTF-8 SUBJECT lunch
S: * SORT 2 4 1
S: a14 OK
C: a15 SORT (DATE) UTF-8 SUBJECT nothing-like-this
S: * SORT
S: a15 OK
C: a16 SORT (REVERSE SIZE FROM) UTF-8 SINCE 1-Jan-2000 NOT FROM gina
S: * SORT 2 6 4 1 5 3
S: a16 OK
# RFC 7162 §3.1.5: a MODSEQ criterion adds the highest mod-sequence of what matched
C: a17 SORT (DATE) UTF-8 MODSEQ 1
# the first CONDSTORE-enabling command announces HIGHESTMODSEQ (RFC 7162 §3.1)
S: * OK [HIGHESTMODSEQ $_]
S: * SORT 6 2 4 1 3 5 7 (MODSEQ $_)
S: a17 OK
C: a18 SORT RETURN (COUNT) (DATE) UTF-8 MODSEQ 1
S: * ESEARCH (TAG "a18") COUNT 7 MODSEQ $_
S: a18 OK
