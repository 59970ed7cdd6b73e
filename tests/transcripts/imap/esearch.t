# ESEARCH (RFC 4731) and SEARCHRES (RFC 5182)
state: selected
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

C: a0 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: a0 OK
C: a1 SEARCH RETURN (MIN MAX COUNT) ALL
S: * ESEARCH (TAG "a1") MIN 1 MAX 3 COUNT 3
S: a1 OK
C: a2 UID SEARCH RETURN () 2:3
S: * ESEARCH (TAG "a2") UID ALL 2:3
S: a2 OK
C: a3 UID SEARCH RETURN (SAVE) SUBJECT t
S: a3 OK
C: a4 UID FETCH $ (FLAGS)
S: * 2 FETCH (UID 2 FLAGS (\Recent))
S: * 3 FETCH (UID 3 FLAGS (\Recent))
S: a4 OK
C: a5 SEARCH RETURN (COUNT) DELETED
S: * ESEARCH (TAG "a5") COUNT 0
S: a5 OK
