# IDLE without a selected mailbox waits for DONE; a wrong line is BAD
state: authenticated

C: a1 IDLE
S: +
C: DONE
S: a1 OK
C: a2 IDLE
S: +
C: NOTDONE
S: a2 BAD
