# COMPRESS (RFC 4978 §3) is valid in the selected state too.
state: selected

C: a1 COMPRESS DEFLATE
S: a1 OK
