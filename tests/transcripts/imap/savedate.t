# SAVEDATE (RFC 8514): when a message was saved in its mailbox (delivery, APPEND, COPY,
# MOVE), in FETCH (§4.1) and SEARCH (§4.2)
state: selected
# the server clock starts at 14-Nov-2023 22:13:20 +0000
@deliver alice sort-mail/m2.eml
@advance-clock 2h

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 APPEND INBOX (\Seen) "01-Jan-2020 10:00:00 +0100" {10}
C: Subject: x
S: * 2 EXISTS
S: * 2 RECENT
S: a1 OK [APPENDUID $_ 2]
# the save date is the time of saving, whatever the internal date says
C: a3 FETCH 1:2 (SAVEDATE INTERNALDATE)
S: * 1 FETCH (SAVEDATE "14-Nov-2023 22:13:20 +0000" INTERNALDATE "14-Nov-2023 22:13:20 +0000")
S: * 2 FETCH (SAVEDATE "15-Nov-2023 00:13:20 +0000" INTERNALDATE " 1-Jan-2020 10:00:00 +0100")
S: a3 OK
C: a4 SEARCH SAVEDON 14-Nov-2023
S: * SEARCH 1
S: a4 OK
C: a5 SEARCH SAVEDSINCE 15-Nov-2023
S: * SEARCH 2
S: a5 OK
C: a6 SEARCH SAVEDBEFORE 15-Nov-2023
S: * SEARCH 1
S: a6 OK
C: a7 SEARCH SAVEDATESUPPORTED
S: * SEARCH 1 2
S: a7 OK
C: a8 SEARCH SINCE 1-Jan-2021
S: * SEARCH 1
S: a8 OK
# a copy is saved anew in its mailbox
@advance-clock 1d
C: a9 COPY 2 Archive
S: a9 OK
C: a10 SELECT Archive
S: * 1 EXISTS
S: ...
S: a10 OK
C: a11 UID FETCH 1:* (SAVEDATE)
S: * 1 FETCH (UID $_ SAVEDATE "16-Nov-2023 00:13:20 +0000")
S: a11 OK
C: a12 SEARCH NOT SAVEDON 16-Nov-2023
S: * SEARCH
S: a12 OK
# errors: a bad date, a missing argument
C: a13 SEARCH SAVEDBEFORE 31-Feb-2023
S: a13 BAD
C: a14 SEARCH SAVEDON
S: a14 BAD
