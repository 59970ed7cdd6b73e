# APPENDLIMIT (RFC 7889): a synchronizing literal over the limit is refused before "+"
state: authenticated
config: limits.imap.max_literal_size = 100

C!: a1 APPEND INBOX {1000}\r\n
S: a1 NO [TOOBIG]
C: a2 APPEND INBOX {9}
C: a: b
C: 
C: c
S: a2 OK [APPENDUID $_ 1]
