# LOGIN, AUTHENTICATE and STARTTLS are refused once selected
state: selected

C: a1 LOGIN alice@example.test password
S: a1 BAD
C: a2 AUTHENTICATE PLAIN
S: a2 BAD
C: a3 STARTTLS
S: a3 BAD
