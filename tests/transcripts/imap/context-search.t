# CONTEXT=SEARCH (RFC 5267 §4.3): SEARCH RETURN (UPDATE) results kept up to date by
# ADDTO / REMOVEFROM, fed by the changes every session sees: this session's own STORE,
# a delivery (ADDTO after EXISTS, §4.3.3), another session's STORE, an expunge (REMOVEFROM
# before EXPUNGE, §4.3.4), and during IDLE; CANCELUPDATE ends a context (§4.3.5).
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

C: a0 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: * 3 EXISTS
S: a0 OK
# UPDATE alone answers ALL, as RETURN () does; CONTEXT is a hint (§4.2)
C: a2 UID SEARCH RETURN (UPDATE) UNSEEN
S: * ESEARCH (TAG "a2") UID ALL 1:3
S: a2 OK
C: a3 SEARCH RETURN (COUNT CONTEXT UPDATE) UNSEEN
S: * ESEARCH (TAG "a3") COUNT 3
S: a3 OK
C: a4 UID SEARCH RETURN (CONTEXT COUNT) ALL
S: * ESEARCH (TAG "a4") UID COUNT 3
S: a4 OK
# this session's STORE: message 2 is seen, so it leaves both contexts (sequence numbers in a3's)
C: a5 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Seen))
S: * ESEARCH (TAG "a2") UID REMOVEFROM (0 2)
S: * ESEARCH (TAG "a3") REMOVEFROM (0 2)
S: a5 OK
# a delivery: EXISTS first, then ADDTO
@deliver-text alice four
@ordered
C: a6 NOOP
S: * 4 EXISTS
S: * ESEARCH (TAG "a2") UID ADDTO (0 4)
S: * ESEARCH (TAG "a3") ADDTO (0 4)
S: a6 OK
# another session makes message 2 unseen again and 3 seen: one line per context
2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
2 C: b2 UID STORE 2 -FLAGS.SILENT (\Seen)
2 S: b2 OK
2 C: b3 UID STORE 3 +FLAGS.SILENT (\Seen)
2 S: b3 OK
C: a7 NOOP
S: * 2 FETCH (UID 2 FLAGS ())
S: * 3 FETCH (UID 3 FLAGS (\Seen))
S: * ESEARCH (TAG "a2") UID REMOVEFROM (0 3) ADDTO (0 2)
S: * ESEARCH (TAG "a3") REMOVEFROM (0 3) ADDTO (0 2)
S: a7 OK
# an expunge by the other session: REMOVEFROM while the number is still valid, then EXPUNGE
2 C: b4 UID STORE 1 +FLAGS.SILENT (\Deleted)
2 S: b4 OK
2 C: b5 EXPUNGE
2 S: * 1 EXPUNGE
2 S: b5 OK
@ordered
C: a8 NOOP
S: * ESEARCH (TAG "a2") UID REMOVEFROM (0 1)
S: * ESEARCH (TAG "a3") REMOVEFROM (0 1)
S: * 1 EXPUNGE
S: a8 OK
# no update for a FETCH that changes nothing
C: a9 FETCH 1:* (FLAGS)
S: * 1 FETCH (FLAGS ())
S: * 2 FETCH (FLAGS (\Seen))
S: * 3 FETCH (FLAGS ())
!S: * ESEARCH
S: a9 OK
# CANCELUPDATE: a2 is no longer updated, a3 still is; during IDLE
C: a10 CANCELUPDATE "a2"
S: a10 OK
C: a11 IDLE
S: +
@deliver-text alice five
@wait 1 "* ESEARCH (TAG \"a3\") ADDTO (0 4)" 5s
C: DONE
S: a11 OK
C: a12 CANCELUPDATE "a2"
S: a12 BAD
C: a13 CANCELUPDATE "a3" "nope"
S: a13 BAD
C: a14 CANCELUPDATE "a3"
S: a14 OK
@deliver-text alice six
C: a15 NOOP
S: * 5 EXISTS
!S: * ESEARCH
S: a15 OK
# the tag of a cancelled context may name a new one
C: a2 UID SEARCH RETURN (UPDATE MIN) UNSEEN
S: * ESEARCH (TAG "a2") UID MIN 2
S: a2 OK
