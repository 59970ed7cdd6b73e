# CHECK (RFC 3501 §6.4.1): like NOOP, only when selected
state: authenticated
@deliver-text alice one

C: a1 CHECK
S: a1 BAD
C: a2 SELECT INBOX
S: ...
S: a2 OK
@deliver-text alice two
C: a3 CHECK
S: * 2 EXISTS
S: * 2 RECENT
S: a3 OK
