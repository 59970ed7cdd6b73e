# CVE-2011-0411: a command pipelined after STLS is discarded, not run after the upgrade.
state: nonauth
S: +OK
C!: STLS\r\nQUIT\r\n
S: +OK
@starttls 1
C: NOOP
S: -ERR
C: QUIT
S: +OK
