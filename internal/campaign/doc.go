// Package campaign says what a bulk campaign is, how it is submitted, worked
// and finished. It knows nothing of DynamoDB, SQS or SQLite: they implement
// Store and Queue (ports.go), and each passes the conformance suite in
// storetest or queuetest.
//
// Words, used alike in types, functions, JSON, logs and docs:
//
//   - Campaign: one submission's worth of emails, with its status
//     (queued → running → completed, completed_with_errors or cancelled),
//     counters and usage.
//   - Input: one element of a submission's "prospects": a prospect as the
//     client sent it (ref, prospect, company, cta, sender, options), before
//     the defaults are merged in. Submit turns each into an Email. A
//     ParsedInput is one read from a file (a CSV row), with the problems
//     reading it found; SubmitInputs takes those.
//   - Email: the email a campaign writes for one prospect, numbered by its
//     Index from 0 in input order. It holds the merged request, an
//     EmailStatus (pending until written, then succeeded, needs_review or
//     failed) and, once written, its Outcome. GET …/emails lists them,
//     pending ones included.
//   - Outcome: what writing an Email produced: the subject and body, every
//     email of its variants or sequence, the model, usage or the error.
//   - Delivery: one receipt of a queue message (its body names an Email by
//     campaign id and index, or asks to expand a campaign or send its
//     webhook); the queue delivers at least once, so a Delivery may repeat.
//   - Lease: a delivery's claim on an Email while it calls the model
//     (Store.Claim), so that of several deliveries one pays for the call.
//   - Task: a one-off job of a campaign (expand, notify) that one process
//     claims (Store.ClaimTask).
//   - Draft: an Email's Outcome once written (succeeded or needs_review);
//     only a draft is reviewed.
//   - Review: a reviewer's decision on a draft (approved, rejected, or none
//     yet: "unreviewed" in the API); the campaign counts each decision.
//   - Edit: a reviewer's change to a draft's subject and body, linted
//     again; the draft stays beside it.
//   - Version: the count of an Email's writes (Finish, Revise, Reset), the
//     API's ETag; a review write names the version it read (Store.Revise).
//   - Hold: a regenerate request's claim on a finished Email while it calls
//     the model (Store.Hold), apart from a delivery's Lease.
//   - Round: a retry of a campaign's failed (or flagged) Emails: Reopen
//     starts it, Reset makes each Email pending again, EndRetry ends it.
//
// Storage keeps older names where renaming would strand data or in-flight
// messages: the SQLite table campaign_items, DynamoDB's ITEM# records and
// the queue message type "item" all hold Emails.
//
// Where things happen: Service (service.go) submits, reads and cancels;
// Submit validates the whole body first (submit.go) and stores nothing
// unless every Input is valid; review_service.go reads, changes,
// regenerates an Email and retries a campaign. Worker (worker.go) works
// deliveries: expand, write an Email, finish the campaign, send its
// webhook, and a retry's round (retry.go); deadletter.go settles what the
// queue gave up on. Poller (poller.go) feeds the Worker
// from a Queue where no Lambda event source mapping does (the local
// program). Every default is in defaults.go.
package campaign
