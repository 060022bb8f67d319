-- The provider batches of batch-mode campaigns (campaign.Batch; Store.AddBatch,
-- UpdateBatch): one row a batch, deleted with its campaign. indexes are
-- campaign.FormatIndexes' ranges; times are Unix milliseconds, checked_at
-- NULL until a check message polled the batch. version counts the row's
-- writes (UpdateBatch is conditional on it). Idempotent, run by NewStore
-- at each start.
CREATE TABLE IF NOT EXISTS campaign_batches (
	campaign_id    TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	batch_key      TEXT NOT NULL,
	attempt        INTEGER NOT NULL,
	indexes        TEXT NOT NULL,
	status         TEXT NOT NULL,
	provider_id    TEXT NOT NULL DEFAULT '',
	input_file_id  TEXT NOT NULL DEFAULT '',
	output_file_id TEXT NOT NULL DEFAULT '',
	error_file_id  TEXT NOT NULL DEFAULT '',
	completed      INTEGER NOT NULL DEFAULT 0,
	failed         INTEGER NOT NULL DEFAULT 0,
	error          TEXT NOT NULL DEFAULT '',
	collected      INTEGER NOT NULL DEFAULT 0,
	checked_by     TEXT NOT NULL DEFAULT '',
	checked_at     INTEGER,
	version        INTEGER NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (campaign_id, batch_key)
) STRICT, WITHOUT ROWID;
