# APPEND (RFC 9051 §6.3.12) with UIDPLUS (RFC 4315); another session sees EXISTS
state: authenticated
connections: 2

2 C: b1 SELECT INBOX
2 S: ...
2 S: b1 OK
1 C: a1 APPEND INBOX (\Seen $Work) "14-Nov-2023 22:13:20 +0100" {45}
1 C: Subject: appended
1 C: From: a@example.test
1 C: 
1 C: hi
1 S: a1 OK [APPENDUID $uv 1]
@ordered
2 C: b2 NOOP
2 S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
2 S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)]
2 S: * 1 EXISTS
2 S: * 1 RECENT
2 S: b2 OK
2 C: b3 FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE)
2 S: * 1 FETCH (FLAGS (\Recent \Seen $Work) INTERNALDATE "14-Nov-2023 22:13:20 +0100" RFC822.SIZE 45)
2 S: b3 OK
1 C: a2 APPEND Nowhere {5+}
1 C: hello
1 S: a2 NO [TRYCREATE]
1 C!: a3 APPEND INBOX {1+}\r\nx {1+}\r\ny\r\n
1 S: a3 OK [APPENDUID $uv 2:3]
1 C: a4 SELECT INBOX
1 S: ...
1 S: a4 OK
1 C: a5 APPEND INBOX {4+}
1 C: a: b
1 S: * 4 EXISTS
1 S: * 3 RECENT
1 S: a5 OK [APPENDUID $uv 4]
