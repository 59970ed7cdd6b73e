# SUBSCRIBE / UNSUBSCRIBE / LSUB (RFC 9051 §6.3.7, §6.3.8; RFC 3501 §6.3.9)
state: authenticated

C: a1 CREATE News
S: a1 OK
C: a2 SUBSCRIBE News
S: a2 OK
C: a3 LSUB "" "N*"
S: * LSUB () "/" News
S: a3 OK
C: a4 LIST (SUBSCRIBED) "" "*"
S: * LIST (\HasNoChildren \Subscribed) "/" News
S: ...
S: a4 OK
C: a5 UNSUBSCRIBE News
S: a5 OK
C: a6 LSUB "" "N*"
S: a6 OK
C: a7 SUBSCRIBE Missing
S: a7 NO [NONEXISTENT]
C: a8 SELECT INBOX
S: ...
S: a8 OK
C: a9 SUBSCRIBE News
S: a9 OK
C: a10 UNSUBSCRIBE News
S: a10 OK
C: a11 LSUB "" INBOX
S: * LSUB () "/" INBOX
S: a11 OK
