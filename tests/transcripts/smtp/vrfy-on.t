# VRFY switched on ([limits.smtp] vrfy = true): 250 / 550 5.1.1 / 551 5.1.6.
state: nonauth
users: alice
config: limits.smtp.vrfy = true

S: 220
C: VRFY alice@example.test
S: 250 2.0.0
C: VRFY <nobody@example.test>
S: 550 5.1.1
C: VRFY someone@remote.test
S: 551 5.1.6
C: VRFY alice
S: 252 2.5.0
