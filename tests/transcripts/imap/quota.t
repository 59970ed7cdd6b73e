# QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT, SETQUOTA refused, APPEND and COPY over a limit
# get NO [OVERQUOTA] (§4.1); [quota] default_storage at its edge (1024 octets: 1024 fit, 1025 do not)
# and default_messages (3 fit, the 4th does not). STORAGE counts 1024-octet units (§5.1).
state: authenticated
config: quota.default_storage = "1KiB"
config: quota.default_messages = 3

C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
# RFC 9208 §4.3 example, with this server's one quota root ""
C: a2 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX ""
S: * QUOTA "" (STORAGE 0 1 MESSAGE 0 3)
S: a2 OK
C!: a3 APPEND INBOX {1000+}\r\nSubject: big\r\n\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n
S: a3 OK [APPENDUID $uv 1]
# 1000 + 25 = 1025 octets: one over the limit
C!: a4 APPEND INBOX {25+}\r\nSubject: s\r\n\r\nbbbbbbbbb\r\n\r\n
S: a4 NO [OVERQUOTA]
# 1000 + 24 = 1024 octets: exactly the limit
C!: a5 APPEND INBOX {24+}\r\nSubject: s\r\n\r\nbbbbbbbb\r\n\r\n
S: a5 OK [APPENDUID $uv 2]
# RFC 9208 §4.2 example
C: a6 GETQUOTA ""
S: * QUOTA "" (STORAGE 1 1 MESSAGE 2 3)
S: a6 OK
C: a7 GETQUOTA "!partition.sda4"
S: a7 NO [NONEXISTENT]
C: a8 GETQUOTAROOT Missing
S: a8 NO [NONEXISTENT]
# RFC 9208 §4.1 example: only the administrator sets limits
C: a9 SETQUOTA "" (STORAGE 512)
S: a9 NO [NOPERM]
C: a10 SETQUOTA "" (STORAGE)
S: a10 BAD
C: a11 SELECT INBOX
S: ...
S: a11 OK [READ-WRITE]
C: a12 COPY 2 Archive
S: a12 NO [OVERQUOTA]
C: a13 GETQUOTAROOT Archive
S: * QUOTAROOT Archive ""
S: * QUOTA "" (STORAGE 1 1 MESSAGE 2 3)
S: a13 OK
C: a14 SETQUOTA "" (MESSAGE 10)
S: a14 NO [NOPERM]
# RFC 9208 §4.2.1: STATUS DELETED-STORAGE, what EXPUNGE would free
C: a15 STORE 1 +FLAGS.SILENT (\Deleted)
S: a15 OK
C: a16 STATUS INBOX (DELETED DELETED-STORAGE)
S: * STATUS INBOX (DELETED 1 DELETED-STORAGE 1)
S: a16 OK
C: a17 EXPUNGE
S: * 1 EXPUNGE
S: a17 OK
C: a18 COPY 1 Archive
S: a18 OK [COPYUID $_ 2 1]
C: a19 GETQUOTA ""
S: * QUOTA "" (STORAGE 1 1 MESSAGE 2 3)
S: a19 OK
C: a20 APPEND Drafts {9+}
C: a: b
C:
C: c
S: a20 OK [APPENDUID $_ 1]
C!: a21 APPEND Drafts {9+}\r\na: b\r\n\r\nc\r\n
S: a21 NO [OVERQUOTA]
C: a22 GETQUOTAROOT Drafts
S: * QUOTAROOT Drafts ""
S: * QUOTA "" (STORAGE 1 1 MESSAGE 3 3)
S: a22 OK
