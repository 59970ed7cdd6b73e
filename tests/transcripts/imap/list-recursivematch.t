# LSUB (RFC 3501 §6.3.9): with "%", an unsubscribed parent of a subscribed child is
# returned with \Noselect. LIST-EXTENDED (RFC 5258 §3.1): RECURSIVEMATCH alone (or only
# with REMOTE) is BAD; CHILDINFO (§3.5) marks a mailbox that matches the pattern and has
# a subscribed descendant the pattern does not match (RFC 5258 §5, example 9).
state: authenticated

C: a1 CREATE a/b/c
S: a1 OK
C: a2 SUBSCRIBE a/b/c
S: a2 OK
C: a3 LSUB "" a/%
S: * LSUB (\Noselect) "/" a/b
S: a3 OK
C: a4 LSUB "" %
S: * LSUB (\Noselect) "/" a
S: * LSUB () "/" INBOX
S: ...
S: a4 OK
C: a5 LSUB "" a/b/%
S: * LSUB () "/" a/b/c
S: a5 OK
C: a6 LSUB "" *
S: * LSUB () "/" a/b/c
!S: * LSUB (\Noselect) "/" a
!S: * LSUB (\Noselect) "/" a/b
S: ...
S: a6 OK
C: a7 LIST (RECURSIVEMATCH) "" *
S: a7 BAD
C: a8 LIST (REMOTE RECURSIVEMATCH) "" *
S: a8 BAD
# Example 9 of RFC 5258 §5, the hierarchy and subscriptions as there.
C: a9 CREATE foo2/bar1
S: a9 OK
C: a10 CREATE foo2/bar2
S: a10 OK
C: a11 CREATE baz2/bar2
S: a11 OK
C: a12 CREATE baz2/bar22
S: a12 OK
C: a13 CREATE eps2/mamba
S: a13 OK
C: a14 SUBSCRIBE foo2/bar1
S: a14 OK
C: a15 SUBSCRIBE foo2/bar2
S: a15 OK
C: a16 SUBSCRIBE baz2/bar2
S: a16 OK
C: a17 SUBSCRIBE baz2/bar22
S: a17 OK
C: a18 SUBSCRIBE eps2
S: a18 OK
C: a19 SUBSCRIBE eps2/mamba
S: a19 OK
C: a20 LIST (RECURSIVEMATCH SUBSCRIBED) "" "*2"
S: * LIST (\HasChildren) "/" foo2 ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\HasNoChildren \Subscribed) "/" foo2/bar2
S: * LIST (\HasNoChildren \Subscribed) "/" baz2/bar2
S: * LIST (\HasNoChildren \Subscribed) "/" baz2/bar22
S: * LIST (\HasChildren \Subscribed) "/" eps2 ("CHILDINFO" ("SUBSCRIBED"))
S: a20 OK
C: a21 LIST (RECURSIVEMATCH SUBSCRIBED) "" "%2"
S: * LIST (\HasChildren) "/" foo2 ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\HasChildren) "/" baz2 ("CHILDINFO" ("SUBSCRIBED"))
S: * LIST (\HasChildren \Subscribed) "/" eps2 ("CHILDINFO" ("SUBSCRIBED"))
S: a21 OK
# Without RECURSIVEMATCH, no CHILDINFO.
C: a22 LIST (SUBSCRIBED) "" "%2"
S: * LIST (\HasChildren \Subscribed) "/" eps2
S: a22 OK
