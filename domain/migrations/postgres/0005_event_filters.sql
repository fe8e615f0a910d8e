-- Events / Logs filters. Each filter gets an index that starts with its column and ends
-- with the page order (occurred_at, id), so the newest page of any one filter is a short
-- backward index scan even with millions of events.
--
-- target_id: the id of the user, group, profile or token an event concerns (events keep
-- the target's name as it was then; the id finds a renamed group). Filled by the store from
-- the detail JSON (user_id, group_id, profile_id, auth_profile_id, token_id).
-- target_key: the target lower-cased (in Rust for new rows), for case-insensitive search.
-- COLLATE "C" makes it compare bytewise, as SQLite does, so a prefix search is a range.

ALTER TABLE events ADD COLUMN target_id TEXT;
ALTER TABLE events ADD COLUMN target_key TEXT COLLATE "C";

UPDATE events SET target_key = lower(target) WHERE target IS NOT NULL;

-- Existing details are JSON written by Gatehouse; one that is not must not stop the
-- migration, so each row is read on its own.
DO $$
DECLARE
    r RECORD;
    d JSONB;
BEGIN
    FOR r IN SELECT id, detail FROM events WHERE detail IS NOT NULL LOOP
        BEGIN
            d := r.detail::jsonb;
            UPDATE events SET target_id = COALESCE(
                    d ->> 'user_id', d ->> 'group_id', d ->> 'profile_id',
                    d ->> 'auth_profile_id', d ->> 'token_id')
                WHERE id = r.id;
        EXCEPTION WHEN others THEN
            NULL;
        END;
    END LOOP;
END $$;

CREATE INDEX events_category_time ON events (category, occurred_at, id);
CREATE INDEX events_action_time ON events (action, occurred_at, id);
CREATE INDEX events_outcome_time ON events (outcome, occurred_at, id);
CREATE INDEX events_actor_kind_time ON events (actor_kind, occurred_at, id);
CREATE INDEX events_actor_id_time ON events (actor_id, occurred_at, id);
CREATE INDEX events_target_id_time ON events (target_id, occurred_at, id);
CREATE INDEX events_target_key_time ON events (target_key, occurred_at, id);
