# COMPRESS (RFC 4978 §3): an unknown mechanism is BAD and leaves the connection plain;
# DEFLATE is answered OK in plain text, and is no longer advertised after it. What
# follows the OK is compressed (tests/net/test_compression.py; mbsync syncs through it in tests/clients).
state: authenticated

C: a1 CAPABILITY
S: * CAPABILITY *
S: a1 OK
C: a2 COMPRESS LZW
S: a2 BAD
C: a3 COMPRESS
S: a3 BAD
C: a4 NOOP
S: a4 OK
C: a5 COMPRESS DEFLATE
S: a5 OK
