-- 0003: RFC 3501 \Recent. The highest UID some session has already been told is recent;
-- a message above it is \Recent in exactly the next session that selects the mailbox
-- (or is notified of it while selected), which then raises the marker.
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
