# SEARCH (RFC 9051 §6.4.4): flags, text from the index, headers, sizes, sets, OR/NOT
state: selected
@deliver-text alice apple pie
@deliver-text alice banana split
@deliver-text alice cherry apple

C: a0 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: a0 OK
C: a1 SEARCH ALL
S: * SEARCH 1 2 3
S: a1 OK
C: a2 SEARCH SUBJECT apple
S: * SEARCH 1 3
S: a2 OK
C: a3 STORE 2 +FLAGS (\Seen)
S: * 2 FETCH (FLAGS (\Recent \Seen))
S: a3 OK
C: a4 SEARCH UNSEEN
S: * SEARCH 1 3
S: a4 OK
C: a5 SEARCH OR SEEN BODY cherry
S: * SEARCH 2 3
S: a5 OK
C: a6 SEARCH NOT TEXT apple
S: * SEARCH 2
S: a6 OK
C: a7 UID SEARCH 2:3 FROM sender
S: * SEARCH 2 3
S: a7 OK
C: a8 SEARCH LARGER 1 SMALLER 100000 HEADER Message-ID example.test
S: * SEARCH 1 2 3
S: a8 OK
C: a9 SEARCH CHARSET UTF-8 SUBJECT "banana"
S: * SEARCH 2
S: a9 OK
C: a10 SEARCH CHARSET X-UNKNOWN SUBJECT a
S: a10 NO [BADCHARSET (US-ASCII UTF-8)]
C: a11 SEARCH SENTON 14-Nov-2023 KEYWORD $Junk
S: * SEARCH
S: a11 OK
C: a12 SEARCH SENTSINCE 1-Nov-2023 UNKEYWORD $Junk
S: * SEARCH 1 2 3
S: a12 OK
C: a13 SEARCH BOGUS
S: a13 BAD
