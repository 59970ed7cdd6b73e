# RFC 9051 §5.4: autologout; before login the timer is short
state: nonauth
config: limits.imap.idle_timeout_before_auth = "1s"

@wait 1 "* BYE" 5s
@expect-closed 1
