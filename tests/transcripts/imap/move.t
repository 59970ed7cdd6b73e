# MOVE and UID MOVE (RFC 6851): COPYUID untagged before EXPUNGE; others see EXPUNGE
state: selected
connections: 2
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

1 C: a0 NOOP
1 S: * 3 EXISTS
1 S: * 3 RECENT
1 S: a0 OK
2 C: b0 NOOP
2 S: * 3 EXISTS
2 S: * 0 RECENT
2 S: b0 OK
@ordered
1 C: a1 MOVE 2 Trash
1 S: * OK [COPYUID $uv 2 1]
1 S: * 2 EXPUNGE
1 S: a1 OK
2 C: b1 NOOP
2 S: * 2 EXPUNGE
2 S: b1 OK
1 C: a2 UID MOVE 3 Trash
1 S: * OK [COPYUID $uv 3 2]
1 S: * 2 EXPUNGE
1 S: a2 OK
1 C: a3 MOVE 1 Nowhere
1 S: a3 NO [TRYCREATE]
1 C: a4 STATUS Trash (MESSAGES)
1 S: * STATUS Trash (MESSAGES 2)
1 S: a4 OK
