-- Indexes for the console's Users and User Groups lists (store/directory.rs). Each list
-- pages by key, (sort key, id), so every sort order has an index that ends with id; a
-- search is a prefix range on one of the keys below, so it is an index range too.
--
-- Keys are compared with COLLATE "C" (bytewise, as SQLite compares text), whatever the
-- database's default collation: then a prefix is exactly the range [p, p || U+10FFFF), and
-- the order is the same on both databases. Queries repeat the expressions exactly.

CREATE INDEX users_name_sort ON users ((COALESCE(lower(display_name), '')) COLLATE "C", id);
CREATE INDEX users_family_name ON users ((lower(resource::jsonb #>> '{name,familyName}')) COLLATE "C");
CREATE INDEX users_active_user_name ON users (active, user_name_key COLLATE "C", id);
CREATE INDEX users_user_name_sort ON users (user_name_key COLLATE "C", id);
CREATE INDEX users_primary_email_sort ON users (primary_email COLLATE "C");
CREATE INDEX user_groups_name_sort ON user_groups (display_name_key COLLATE "C", id);

-- The Source filter: the users each SCIM token created. Partial, so it holds one entry per
-- user, not one per event.
CREATE INDEX events_user_created_by ON events (actor_id, target_id, actor_kind, outcome)
    WHERE action = 'user.created';
