package campaign

import "github.com/ingren/ingren/internal/email"

// Observer is told of each email the worker or a generate-email call
// finished, for metrics (CloudWatch on AWS, Prometheus locally). It must
// not block: it is called on the email's path.
type Observer interface {
	// EmailFinished is one prospect's email (or a generate-email
	// answer, or a regenerated draft) ending with status, written by
	// model with usage u (u.CostMicroUSD its cost, u.Unpriced 1 when the
	// model has no price).
	EmailFinished(status EmailStatus, model string, u email.Usage)
}
