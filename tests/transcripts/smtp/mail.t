# MAIL FROM (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY, SMTPUTF8, RET/ENVID (RFC 3461).
state: nonauth
users: alice

S: 220
C: MAIL FROM:<someone@remote.test>
S: 503 5.5.1
C: EHLO client.example.test
S: 250 ...
C: MAIL FROM:<someone@remote.test> SIZE=2147483649
S: 552 5.3.4
C: MAIL FROM:<someone@remote.test
S: 501 5.1.7
C: MAIL FROM:<someone@remote.test> FROB=1
S: 555 5.5.4
C: MAIL FROM:<someone@remote.test> SIZE=big
S: 501 5.5.4
C: MAIL FROM:<用户@example.test>
S: 553 5.6.7
C: MAIL FROM:<> SIZE=2147483648 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef
S: 250 2.1.0
C: MAIL FROM:<someone@remote.test>
S: 503 5.5.1
C: RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.test
S: 250 2.1.5
C: MAIL FROM:<someone@remote.test>
S: 503 5.5.1
C: RSET
S: 250 2.0.0
C: MAIL FROM:<用户@example.test> SMTPUTF8 BODY=8BITMIME
S: 250 2.1.0
