-- RFC 8514 SAVEDATE: when each message was saved in its mailbox (delivery, APPEND,
-- COPY, MOVE), epoch seconds. Messages stored before this migration have none (NULL):
-- their save date is unknown, and IMAP answers NIL for it (RFC 8514 §4).
ALTER TABLE messages ADD COLUMN savedate REAL;
