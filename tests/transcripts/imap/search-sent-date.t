# SENTON / SENTBEFORE / SENTSINCE compare the date as written in the Date header,
# disregarding time and time zone (RFC 3501 §6.4.4, RFC 9051 §6.4.4): not the UTC date.
# Comments (RFC 5322 §3.2.2), a seconds value of 60 (RFC 5322 §3.3) and the obsolete
# forms (RFC 5322 §4.3: two-digit year, no seconds, named zone) parse.
state: selected
@deliver alice messages/date-west.eml
@deliver alice messages/date-east-comment.eml
@deliver alice messages/date-leap.eml
@deliver alice messages/date-short.eml

C: a0 NOOP
S: * 4 EXISTS
S: ...
S: a0 OK
# 1 Jan 2024 23:30 -0800 is 2 Jan in UTC; it was sent on 1 Jan.
C: a1 SEARCH SENTON 1-Jan-2024
S: * SEARCH 1
S: a1 OK
# 2 Jan 2024 00:30 +0900 (JST) is 1 Jan in UTC; it was sent on 2 Jan.
C: a2 SEARCH SENTON 2-Jan-2024
S: * SEARCH 2
S: a2 OK
C: a3 SEARCH SENTBEFORE 2-Jan-2024
S: * SEARCH 1 3
S: a3 OK
C: a4 SEARCH SENTSINCE 2-Jan-2024
S: * SEARCH 2 4
S: a4 OK
C: a5 SEARCH SENTON 31-Dec-2023
S: * SEARCH 3
S: a5 OK
C: a6 SEARCH SENTON 5-Jan-2024
S: * SEARCH 4
S: a6 OK
C: a7 SEARCH NOT SENTSINCE 1-Jan-2024
S: * SEARCH 3
S: a7 OK
