-- Campaigns' one-off tasks (Store.ClaimTask, FinishTask): one row per task
-- claimed, deleted with its campaign. until is Unix milliseconds; done is 1
-- once the task was done. Idempotent, run by NewStore at each start.
CREATE TABLE IF NOT EXISTS campaign_tasks (
	campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
	task        TEXT NOT NULL,
	owner       TEXT NOT NULL,
	until       INTEGER NOT NULL,
	done        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (campaign_id, task)
) STRICT, WITHOUT ROWID;
