-- Indexes for the console's Users and User Groups lists (store/directory.rs). Each list
-- pages by key, (sort key, id), so every sort order has an index that ends with id; a
-- search is a prefix range on one of the keys below, so it is an index range too.
--
-- The expressions must be written in queries exactly as here for SQLite to use them.
-- lower() folds ASCII letters only in SQLite; user_name_key and primary_email are
-- lower-cased in Rust (all of Unicode) when they are written.

-- Sort by name; prefix search on the display name.
CREATE INDEX users_name_sort ON users (COALESCE(lower(display_name), ''), id);
-- Prefix search on the family name ("lovelace" finds Ada Lovelace).
CREATE INDEX users_family_name ON users (lower(json_extract(resource, '$.name.familyName')));
-- The status filter, in userName order.
CREATE INDEX users_active_user_name ON users (active, user_name_key, id);
-- Sorting by userName and by group name needs no new index: user_name_key and
-- display_name_key are UNIQUE, and SQLite serves "ORDER BY key, id" from their indexes.
-- A "contains" search reads every user; this index holds what it compares (and the id), so
-- it reads the index, a tenth of the table's size, instead of the table.
CREATE INDEX users_search_scan ON users (user_name_key, primary_email, display_name, id);

-- The Source filter: the users each SCIM token created. Partial, so it holds one entry per
-- user, not one per event.
CREATE INDEX events_user_created_by ON events (actor_id, target_id, actor_kind, outcome)
    WHERE action = 'user.created';
