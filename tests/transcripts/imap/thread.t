# THREAD (RFC 5256 §3, §4): ORDEREDSUBJECT and REFERENCES
state: selected
@deliver alice sort-mail/m1.eml
@advance-clock 1m
@deliver alice sort-mail/m2.eml
@advance-clock 1m
@deliver alice sort-mail/m3.eml
@advance-clock 1m
@deliver alice sort-mail/m4.eml
@advance-clock 1m
@deliver alice sort-mail/m5.eml
@advance-clock 1m
@deliver alice sort-mail/m6.eml
@advance-clock 1m
@deliver alice sort-mail/m7.eml

C: a0 NOOP
S: * 7 EXISTS
S: * 7 RECENT
S: a0 OK
# RFC 5256 §4 example form: THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000
C: a1 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000
S: * THREAD (6)(2 (4)(1))(3 (5)(7))
S: a1 OK
# References/In-Reply-To links; m5 and m6 share a missing parent (a dummy kept at the
# root since it has two children); m3 and m7 share a base subject and are both replies,
# so a dummy joins them (RFC 5256 §3 REFERENCES step 6)
C: a2 THREAD REFERENCES US-ASCII ALL
S: * THREAD ((6)(5))(2 1 4)((3)(7))
S: a2 OK
# Only the matching messages are threaded: m5 (not a reply) takes the replies m3, m7
C: a3 THREAD REFERENCES UTF-8 SUBJECT report
S: * THREAD (5 (3)(7))
S: a3 OK
# RFC 5256 §4 example: nothing matches
C: a4 THREAD REFERENCES US-ASCII TEXT "gewp"
S: * THREAD
S: a4 OK
C: a5 THREAD REFERENCES UTF-8 SUBJECT lunch
S: * THREAD (2 1 4)
S: a5 OK
