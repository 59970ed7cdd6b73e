# RFC 5267 §4.3, §4.3.1, §4.4: the number of updating contexts per session (here 2), a
# refused UPDATE (* NO [NOUPDATE "tag"], the other options still answered), a tag already
# naming a context (BAD), criteria that change with time alone, PARTIAL and ALL together;
# contexts end with the selected mailbox.
state: selected
config: limits.imap.max_search_contexts = 2
@deliver-text alice one
@deliver-text alice two

C: a0 NOOP
S: * 2 EXISTS
S: * 2 RECENT
S: a0 OK
C: a1 UID SEARCH RETURN (UPDATE) ALL
S: * ESEARCH (TAG "a1") UID ALL 1:2
!S: * NO [NOUPDATE "a1"]
S: a1 OK
C: a2 UID SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "a2") UID COUNT 2
!S: * NO [NOUPDATE "a2"]
S: a2 OK
# the third is refused, its COUNT still answered
C: a3 UID SEARCH RETURN (UPDATE COUNT) ALL
S: * ESEARCH (TAG "a3") UID COUNT 2
S: * NO [NOUPDATE "a3"]
S: a3 OK
C: a4 UID SORT RETURN (UPDATE) (ARRIVAL) UTF-8 ALL
S: * ESEARCH (TAG "a4") UID ALL 1:2
S: * NO [NOUPDATE "a4"]
S: a4 OK
# a tag already naming an updating context
C: a1 UID SEARCH RETURN (UPDATE) ALL
S: a1 BAD
# one cancelled: room for one more
C: a5 CANCELUPDATE "a1"
S: a5 OK
C: a6 SEARCH RETURN (UPDATE) UNSEEN
S: * ESEARCH (TAG "a6") ALL 1:2
!S: * NO [NOUPDATE "a6"]
S: a6 OK
@deliver-text alice three
C: a7 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: * ESEARCH (TAG "a2") UID ADDTO (3 3)
S: * ESEARCH (TAG "a6") ADDTO (0 3)
!S: * ESEARCH (TAG "a1")
!S: * ESEARCH (TAG "a3")
S: a7 OK
C: a8 CANCELUPDATE "a6"
S: a8 OK
# results that change with the clock or with other sessions' SELECT are not kept
C: a9 SEARCH RETURN (UPDATE COUNT) YOUNGER 3600
S: * ESEARCH (TAG "a9") COUNT 3
S: * NO [NOUPDATE "a9"]
S: a9 OK
C: a10 SEARCH RETURN (UPDATE COUNT) NOT RECENT
S: * ESEARCH (TAG "a10") COUNT 0
S: * NO [NOUPDATE "a10"]
S: a10 OK
# PARTIAL (§4.4) in SEARCH: a window in mailbox order, NIL past the end; never with ALL
C: a11 UID SEARCH RETURN (PARTIAL 2:5) ALL
S: * ESEARCH (TAG "a11") UID PARTIAL (2:5 2:3)
S: a11 OK
C: a12 SEARCH RETURN (PARTIAL 9:4 COUNT) ALL
S: * ESEARCH (TAG "a12") COUNT 3 PARTIAL (4:9 NIL)
S: a12 OK
C: a13 SEARCH RETURN (PARTIAL 1:2 ALL) ALL
S: a13 BAD
C: a14 SEARCH RETURN (PARTIAL 1:*) ALL
S: a14 BAD
C: a15 SORT RETURN (ALL PARTIAL 1:2) (ARRIVAL) UTF-8 ALL
S: a15 BAD
# contexts end with the mailbox: after a new SELECT, no updates and no context to cancel
C: a16 SELECT INBOX
S: ...
S: a16 OK
@deliver-text alice four
C: a17 NOOP
S: * 4 EXISTS
S: * 1 RECENT
!S: * ESEARCH
S: a17 OK
C: a18 CANCELUPDATE "a2"
S: a18 BAD
C: a19 CANCELUPDATE
S: a19 BAD
