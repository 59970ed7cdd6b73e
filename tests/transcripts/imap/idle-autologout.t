# RFC 9051 §5.4: the autologout timer runs during IDLE too, and ends with BYE.
state: selected
config: limits.imap.idle_timeout = "1s"

C: a1 IDLE
S: + idling
@wait 1 "* BYE" 5s
@expect-closed 1
