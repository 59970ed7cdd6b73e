-- A rendition may share octets with its source (an MP4 whose index was moved to the
-- front: its head is a blob, its media data are spans of the original). "offset:length"
-- pairs separated by spaces; '' for a rendition that is its blob alone.
ALTER TABLE media_renditions ADD COLUMN spans TEXT NOT NULL DEFAULT '';
