-- +goose Up
-- Incident announcements (issue #9): each message of one names it, so its deliveries can be counted.
ALTER TABLE messages ADD COLUMN announcement_id uuid;
CREATE INDEX messages_announcement_idx ON messages (announcement_id) WHERE announcement_id IS NOT NULL;

-- +goose Down
DROP INDEX messages_announcement_idx;
ALTER TABLE messages DROP COLUMN announcement_id;
