# DELETE (RFC 9051 §6.3.5): INBOX and missing names refused; a parent with children refused
state: authenticated
connections: 2

1 C: a1 CREATE Old/Child
1 S: a1 OK
1 C: a2 DELETE Old
1 S: a2 NO [HASCHILDREN]
1 C: a3 DELETE Old/Child
1 S: a3 OK
1 C: a4 DELETE Old
1 S: a4 OK
2 C: b1 LIST "" Old*
2 S: b1 OK
1 C: a5 DELETE INBOX
1 S: a5 NO [NOPERM]
1 C: a6 DELETE Nothing
1 S: a6 NO [NONEXISTENT]
1 C: a7 SELECT Sent
1 S: ...
1 S: a7 OK
1 C: a8 CREATE Gone
1 S: a8 OK
1 C: a9 DELETE Gone
1 S: a9 OK
