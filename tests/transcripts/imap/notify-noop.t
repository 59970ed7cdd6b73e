# A successful NOTIFY SET is an implicit NOOP (RFC 5465 §3.1): what changed in the
# selected mailbox comes before its tagged OK.
state: selected
connections: 2

2 C: b1 APPEND INBOX {10}
2 C: Subject: 1
2 S: ...
2 S: b1 OK *
C: a1 NOTIFY SET (personal (MailboxName))
S: * 1 EXISTS
S: ...
S: a1 OK
