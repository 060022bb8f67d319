-- The goqite queue table, trigger and index, copied from schema_sqlite.sql of
-- maragu.dev/goqite v0.4.0 (MIT licence, Copyright (c) Maragu ApS; see
-- https://github.com/maragudk/goqite), which does not export its schema.
-- Changed only to be idempotent: "if not exists" on each statement.
-- Keep it in step with the goqite version in go.mod.

create table if not exists goqite (
  id text primary key default ('m_' || lower(hex(randomblob(16)))),
  created text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  updated text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  queue text not null,
  body blob not null,
  timeout text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  received integer not null default 0,
  priority integer not null default 0
) strict;

create trigger if not exists goqite_updated_timestamp after update on goqite begin
  update goqite set updated = strftime('%Y-%m-%dT%H:%M:%fZ') where id = old.id;
end;

create index if not exists goqite_queue_priority_created_idx on goqite (queue, priority desc, created);
