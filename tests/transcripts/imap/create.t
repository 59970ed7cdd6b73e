# CREATE (RFC 9051 §6.3.4): parents made on the way; duplicates and INBOX refused
state: authenticated
connections: 2

1 C: a1 CREATE "Fruit/Apple"
1 S: a1 OK
2 C: b1 LIST "" "Fruit*"
2 S: * LIST (\HasChildren) "/" Fruit
2 S: * LIST (\HasNoChildren) "/" Fruit/Apple
2 S: b1 OK
1 C: a2 CREATE Fruit
1 S: a2 NO [ALREADYEXISTS]
1 C: a3 CREATE inbox
1 S: a3 NO [ALREADYEXISTS]
1 C: a4 CREATE "a/../b"
1 S: a4 NO [CANNOT]
# RFC 9755 §3: no LINE SEPARATOR (U+2028) or PARAGRAPH SEPARATOR (U+2029) in a name
1 C: a4b CREATE "a&ICg-b"
1 S: a4b NO [CANNOT]
1 C: a4c CREATE "a&ICk-b"
1 S: a4c NO [CANNOT]
1 C: a4d RENAME Fruit "Fruit&ICg-"
1 S: a4d NO [CANNOT]
1 C: a5 CREATE Veg/
1 S: a5 OK
1 C: a6 CREATE Later (USE (\Flagged))
1 S: a6 OK
1 C: a7 SELECT INBOX
1 S: ...
1 S: a7 OK
1 C: a8 CREATE Selected
1 S: a8 OK
1 C: a9 CREATE "&AMk-t&AOk-"
1 S: a9 OK
1 C: a10 LIST "" "&AMk-t&AOk-"
1 S: * LIST (\HasNoChildren) "/" "&AMk-t&AOk-"
1 S: a10 OK
