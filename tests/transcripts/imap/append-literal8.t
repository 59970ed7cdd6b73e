# APPEND of a literal8 (~{n}, RFC 3516 §4.4) stores the message byte for byte, like an
# SMTP BINARYMIME message (RFC 3030 §3): the binary part keeps its bare LF, bare CR and
# NUL, and RFC822.SIZE is the size appended. A {n} literal is normalised (RFC 5322 §2.3).
# The octets sent for BINARY[] and BODY[] are checked in tests/protocols/imap/test_imap_nul.py.
state: selected

C!: a1 APPEND INBOX ~{188+}\r\nSubject: binary part\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\ncd\ref\x00gh\r\n--b--\r\n\r\n
S: * 1 EXISTS
S: * 1 RECENT
S: a1 OK [APPENDUID $_ 1]
C: a2 FETCH 1 (RFC822.SIZE BINARY.SIZE[1])
S: * 1 FETCH (RFC822.SIZE 188 BINARY.SIZE[1] 11)
S: ...
S: a2 OK
C: a3 FETCH 1 BINARY.PEEK[1]
S: * 1 FETCH (BINARY[1] $_)
S: a3 OK
C: a4 FETCH 1 BODY.PEEK[1]
S: * 1 FETCH (BODY[1] $_)
S: a4 OK
# The same message without its NUL, as a {n} literal: bare line ends become CRLF.
C!: a5 APPEND INBOX {185+}\r\nSubject: binary part\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\nab\ncd\ref\r\n--b--\r\n\r\n
S: * 2 EXISTS
S: * 2 RECENT
S: a5 OK [APPENDUID $_ 2]
C: a6 FETCH 2 (RFC822.SIZE BINARY.SIZE[1])
S: * 2 FETCH (RFC822.SIZE 187 BINARY.SIZE[1] 10)
S: ...
S: a6 OK
# A {n} literal may not carry NUL at all (RFC 3501 §9 CHAR8).
C!: a7 APPEND INBOX {5+}\r\nx\x00y\r\n\r\n
S: a7 BAD
