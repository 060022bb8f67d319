-- Campaigns and their items. Every statement is idempotent: NewStore runs
-- this file at each start, then columns.sql, which adds the columns these
-- tables gained since (review and retry: approved, rejected, round and
-- retrying of campaigns; version, round, edit, review, note and
-- reviewed_at of campaign_items).
--
-- Times are Unix milliseconds (UTC); completed_at and expires_at are NULL
-- until set. Counters and token usage are updated in place by Finish,
-- Revise and Reset. A campaign whose expires_at is not after now reads as
-- gone, and Store.DeleteExpired deletes it; one without expires_at never
-- expires.

CREATE TABLE IF NOT EXISTS campaigns (
	id                TEXT PRIMARY KEY,
	tenant            TEXT NOT NULL,
	name              TEXT NOT NULL DEFAULT '',
	status            TEXT NOT NULL,
	total             INTEGER NOT NULL,
	succeeded         INTEGER NOT NULL DEFAULT 0,
	failed            INTEGER NOT NULL DEFAULT 0,
	needs_review      INTEGER NOT NULL DEFAULT 0,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	total_tokens      INTEGER NOT NULL DEFAULT 0,
	webhook_url       TEXT NOT NULL DEFAULT '',
	idempotency_key   TEXT, -- NULL when the submit had none
	request_hash      TEXT NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	completed_at      INTEGER,
	expires_at        INTEGER
) STRICT;

-- A tenant uses an idempotency key once.
CREATE UNIQUE INDEX IF NOT EXISTS campaigns_idempotency
	ON campaigns (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- List: a tenant's campaigns newest first, keyset-paged on (created_at, id).
CREATE INDEX IF NOT EXISTS campaigns_tenant_created
	ON campaigns (tenant, created_at DESC, id DESC);

-- DeleteExpired: the campaigns that expired first.
CREATE INDEX IF NOT EXISTS campaigns_expires
	ON campaigns (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS campaign_items (
	campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	idx         INTEGER NOT NULL,
	ref         TEXT NOT NULL DEFAULT '',
	request     TEXT NOT NULL, -- email.Request as JSON
	status      TEXT NOT NULL,
	result      TEXT,          -- campaign.Result as JSON, NULL while pending
	PRIMARY KEY (campaign_id, idx)
) STRICT, WITHOUT ROWID;

-- Leases of items being worked (Store.Claim): one row per claimed item,
-- deleted when the lease is released or the campaign reaches a final
-- status. A finished item keeps its lease until then, so that a duplicate
-- delivery that read the item before it was finished still waits. until is
-- Unix milliseconds.
CREATE TABLE IF NOT EXISTS item_leases (
	campaign_id TEXT NOT NULL,
	idx         INTEGER NOT NULL,
	owner       TEXT NOT NULL,
	until       INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, idx)
) STRICT, WITHOUT ROWID;

-- A CSV campaign's input as the file had it (campaign.Campaign.Columns,
-- campaign.Email.Cells), as JSON arrays of strings; a JSON campaign has no
-- rows here. Tables of their own, so that a database made before them
-- opens: this file only adds what is missing.
CREATE TABLE IF NOT EXISTS campaign_columns (
	campaign_id TEXT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
	columns     TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS item_cells (
	campaign_id TEXT NOT NULL,
	idx         INTEGER NOT NULL,
	cells       TEXT NOT NULL,
	PRIMARY KEY (campaign_id, idx),
	FOREIGN KEY (campaign_id, idx) REFERENCES campaign_items (campaign_id, idx) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Holds of finished emails being regenerated (Store.Hold): one row per
-- held email, deleted by Revise and Reset and with the email; apart from
-- item_leases, which a finished email keeps until its campaign ends. until
-- is Unix milliseconds; a hold whose until is not after now is free.
CREATE TABLE IF NOT EXISTS item_holds (
	campaign_id TEXT NOT NULL,
	idx         INTEGER NOT NULL,
	owner       TEXT NOT NULL,
	until       INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, idx),
	FOREIGN KEY (campaign_id, idx) REFERENCES campaign_items (campaign_id, idx) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
