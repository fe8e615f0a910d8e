-- Events / Logs filters. Each filter gets an index that starts with its column and ends
-- with the page order (occurred_at, id), so the newest page of any one filter is a short
-- backward index scan even with millions of events.
--
-- target_id: the id of the user, group, profile or token an event concerns (events keep
-- the target's name as it was then; the id finds a renamed group). Filled by the store from
-- the detail JSON (user_id, group_id, profile_id, auth_profile_id, token_id).
-- target_key: the target lower-cased (in Rust for new rows), for case-insensitive search.

ALTER TABLE events ADD COLUMN target_id TEXT;
ALTER TABLE events ADD COLUMN target_key TEXT;

UPDATE events SET target_key = lower(target) WHERE target IS NOT NULL;
UPDATE events SET target_id = COALESCE(
        json_extract(detail, '$.user_id'),
        json_extract(detail, '$.group_id'),
        json_extract(detail, '$.profile_id'),
        json_extract(detail, '$.auth_profile_id'),
        json_extract(detail, '$.token_id'))
    WHERE detail IS NOT NULL AND json_valid(detail);

CREATE INDEX events_category_time ON events (category, occurred_at, id);
CREATE INDEX events_action_time ON events (action, occurred_at, id);
CREATE INDEX events_outcome_time ON events (outcome, occurred_at, id);
CREATE INDEX events_actor_kind_time ON events (actor_kind, occurred_at, id);
CREATE INDEX events_actor_id_time ON events (actor_id, occurred_at, id);
CREATE INDEX events_target_id_time ON events (target_id, occurred_at, id);
CREATE INDEX events_target_key_time ON events (target_key, occurred_at, id);
