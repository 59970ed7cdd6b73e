# [limits.smtp] timeout_initial (small here): no first command after the greeting: 421 4.4.2.
state: nonauth
config: limits.smtp.timeout_initial = 0.3

S: 220
S: 421 4.4.2
@expect-closed 1
