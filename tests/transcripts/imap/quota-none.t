# QUOTA (RFC 9208) without any limit: no quota root (§4.3), GETQUOTA of any root is NO.
state: selected
config: quota.default_storage = 0

C: a1 GETQUOTAROOT INBOX
S: * QUOTAROOT INBOX
S: a1 OK
C: a2 GETQUOTA ""
S: a2 NO [NONEXISTENT]
C: a3 SETQUOTA "" (STORAGE 1024)
S: a3 NO [NOPERM]
C: a4 STATUS INBOX (DELETED-STORAGE)
S: * STATUS INBOX (DELETED-STORAGE 0)
S: a4 OK
