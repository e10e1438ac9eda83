-- key_hash (migration 5) is filled: it becomes NOT NULL, and the official_id indexes that
-- migration 5 dropped to allow that are built again.
ALTER TABLE tasks ALTER COLUMN key_hash SET NOT NULL;
ALTER TABLE ratings ALTER COLUMN key_hash SET NOT NULL;
ALTER TABLE evaluations ALTER COLUMN key_hash SET NOT NULL;
CREATE INDEX IF NOT EXISTS tasks_official ON tasks (official_id);
CREATE INDEX IF NOT EXISTS ratings_official ON ratings (official_id);
CREATE INDEX IF NOT EXISTS evaluations_official ON evaluations (official_id);
