# FETCH of sections over several messages (RFC 9051 §6.4.5): each message gets its own
# octets when the sections of a batch of messages are read ahead together
state: selected
@deliver-text alice one
@deliver-text alice two
@deliver-text alice three

C: a0 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: a0 OK
C: a1 FETCH 1:3 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT]<0.3> RFC822.SIZE)
S: * 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}
S: Subject: one
S: 
S:  BODY[TEXT]<0> "one" RFC822.SIZE $_)
S: * 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {16}
S: Subject: two
S: 
S:  BODY[TEXT]<0> "two" RFC822.SIZE $_)
S: * 3 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}
S: Subject: three
S: 
S:  BODY[TEXT]<0> "thr" RFC822.SIZE $_)
S: a1 OK
C: a2 UID FETCH 1:* (BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)]<9.5>)
S: * 1 FETCH (UID 1 BODY[1] {5}
S: one
S:  BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)]<9> {5}
S: one
S: )
S: * 2 FETCH (UID 2 BODY[1] {5}
S: two
S:  BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)]<9> {5}
S: two
S: )
S: * 3 FETCH (UID 3 BODY[1] {7}
S: three
S:  BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)]<9> {5}
S: three)
S: a2 OK
