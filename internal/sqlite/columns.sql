-- Columns that store.sql's tables gained after databases were made with
-- them. NewStore runs this file after store.sql, at each start, in one
-- transaction: an ALTER TABLE t ADD COLUMN c runs only when table t has no
-- column c (SQLite has no ADD COLUMN IF NOT EXISTS), and so do the
-- statements after it up to the next ALTER TABLE: they fill the new
-- column of the rows that were there before. A new column goes at the
-- end, never into store.sql's CREATE TABLE.
--
-- Every statement ends with a semicolon at the end of a line; no other
-- line ends with one.

-- campaign.Campaign.Approved and Rejected: emails with that review.
ALTER TABLE campaigns ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
-- Round counts Store.Reopen's retries; retrying is 1 from a retry's
-- Reopen to its EndRetry.
ALTER TABLE campaigns ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN retrying INTEGER NOT NULL DEFAULT 0;

-- campaign.Email.Version: Finish, Revise and Reset each add 1. An email
-- finished before the column existed was written once.
ALTER TABLE campaign_items ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
UPDATE campaign_items SET version = 1 WHERE status <> 'pending';
-- The retry round that last made the email pending (Store.Reset).
ALTER TABLE campaign_items ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
-- A reviewer's campaign.Edit as JSON, NULL if none; the model's draft
-- stays in result.
ALTER TABLE campaign_items ADD COLUMN edit TEXT;
-- campaign.Review: '' (none), 'approved' or 'rejected'.
ALTER TABLE campaign_items ADD COLUMN review TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_items ADD COLUMN note TEXT NOT NULL DEFAULT '';
-- When review was last set, Unix milliseconds; NULL if never.
ALTER TABLE campaign_items ADD COLUMN reviewed_at INTEGER;

-- campaign.Campaign.Mode; a campaign stored before modes is realtime.
ALTER TABLE campaigns ADD COLUMN mode TEXT NOT NULL DEFAULT 'realtime';
-- campaign.Campaign.Warnings as a JSON array of strings, NULL if none.
ALTER TABLE campaigns ADD COLUMN warnings TEXT;
-- email.Usage's part spent through a Batch API.
ALTER TABLE campaigns ADD COLUMN batch_prompt_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN batch_completion_tokens INTEGER NOT NULL DEFAULT 0;
-- email.Usage's cost counter: what the campaign's model outcomes cost in
-- millionths of a US dollar, and how many had no price. A campaign stored
-- before costs counts as 0 and priced.
ALTER TABLE campaigns ADD COLUMN cost_micro_usd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;
-- email.Usage's prompt tokens served from the provider's cache.
ALTER TABLE campaigns ADD COLUMN cached_prompt_tokens INTEGER NOT NULL DEFAULT 0;

-- Budgets (campaign.Ledger). campaign.Campaign.Skipped: emails a budget
-- skipped, part of failed; none before budgets.
ALTER TABLE campaigns ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
-- campaign.Campaign.MaxCostMicroUSD, 0 for no cap (every campaign stored
-- before budgets), and ReservedMicroUSD: what its emails hold of it.
ALTER TABLE campaigns ADD COLUMN max_cost_micro_usd INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN reserved_micro_usd INTEGER NOT NULL DEFAULT 0;
-- campaign.Email.Reserved: the hold a pending email's model call takes
-- (Store.Reserve) until Finish or Unreserve releases it; reserved_month
-- is '' while the email holds none.
ALTER TABLE campaign_items ADD COLUMN reserved_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaign_items ADD COLUMN reserved_month TEXT NOT NULL DEFAULT '';
