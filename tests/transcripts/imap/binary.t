# BINARY (RFC 3516): decoded content of a part, partial ranges, BINARY.SIZE
state: selected
@deliver alice ../../corpus/cte-base64.eml

C: a0 NOOP
S: * 1 EXISTS
S: * 1 RECENT
S: a0 OK
C: a1 FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1]<0.5>)
S: * 1 FETCH (BINARY.SIZE[1] $size BINARY[1]<0> $_)
S: a1 OK
C: a2 FETCH 1 BINARY.SIZE[]
S: * 1 FETCH (BINARY.SIZE[] $_)
S: a2 OK
