# COPY and UID COPY (RFC 9051 §6.4.7) with COPYUID (RFC 4315); TRYCREATE
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two

1 C: a0 NOOP
1 S: * 2 EXISTS
1 S: * 2 RECENT
1 S: a0 OK
2 C: b1 SELECT Archive
2 S: ...
2 S: b1 OK
1 C: a1 COPY 1:2 Archive
1 S: a1 OK [COPYUID $uv 1:2 1:2]
2 C: b2 NOOP
2 S: * 2 EXISTS
2 S: * 2 RECENT
2 S: b2 OK
1 C: a2 UID COPY 2 Archive
1 S: a2 OK [COPYUID $uv 2 3]
1 C: a3 COPY 1 Nowhere
1 S: a3 NO [TRYCREATE]
1 C: a4 UID COPY 99 Archive
1 S: a4 OK
1 C: a5 COPY 5 Archive
1 S: a5 BAD
