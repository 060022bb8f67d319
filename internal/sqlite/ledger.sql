-- The tenants' ledger (campaign.Ledger): budgets held and spend booked,
-- per tenant, outside any campaign. Its rows outlive the campaigns that
-- booked them: DeleteExpired leaves them. Idempotent, run by NewStore at
-- each start; tables of their own, so that a database made before them
-- opens.
--
-- Amounts are micro-dollars (millionths of a US dollar).

-- One row per tenant and budget month (campaign.MonthOf, "2006-01"):
-- spent is the booked real cost, reserved what calls in flight hold of
-- the month's key budget (campaign.Reservation), unpriced the calls of
-- models without a price. A hold must fit under the key's limit with
-- spent and reserved.
CREATE TABLE IF NOT EXISTS ledger_months (
	tenant             TEXT NOT NULL,
	month              TEXT NOT NULL,
	spent_micro_usd    INTEGER NOT NULL DEFAULT 0,
	reserved_micro_usd INTEGER NOT NULL DEFAULT 0,
	unpriced           INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant, month)
) STRICT, WITHOUT ROWID;

-- One row per tenant, usage day (campaign.DayOf, "2006-01-02") and
-- campaign ('' for generate-email calls): campaign.UsageRecord.
CREATE TABLE IF NOT EXISTS ledger_days (
	tenant                  TEXT NOT NULL,
	day                     TEXT NOT NULL,
	campaign_id             TEXT NOT NULL,
	emails                  INTEGER NOT NULL DEFAULT 0,
	prompt_tokens           INTEGER NOT NULL DEFAULT 0,
	completion_tokens       INTEGER NOT NULL DEFAULT 0,
	total_tokens            INTEGER NOT NULL DEFAULT 0,
	batch_prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	batch_completion_tokens INTEGER NOT NULL DEFAULT 0,
	cached_prompt_tokens    INTEGER NOT NULL DEFAULT 0,
	cost_micro_usd          INTEGER NOT NULL DEFAULT 0,
	unpriced                INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant, day, campaign_id)
) STRICT, WITHOUT ROWID;
