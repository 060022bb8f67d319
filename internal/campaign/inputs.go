package campaign

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
)

// ParsedInput is an Input read from a form other than a JSON body (a CSV
// file's row), with the problems reading it found.
type ParsedInput struct {
	Input    Input
	Problems fault.Fields
}

// Skipped is a ParsedInput SubmitInputs left out, and why.
type Skipped struct {
	// Index is the input's index in what was submitted.
	Index    int
	Problems fault.Fields
}

// FieldNamer names a field of input i for a client: path is the field's
// JSON path in the input ("prospect.first_name").
type FieldNamer func(i int, path string) string

// SubmitInputs submits a campaign read from a file: head is the campaign
// without its prospects, inputs its prospects. It validates as Submit
// does, naming input i's fields with name. With skipInvalid the inputs
// with problems are left out and listed in Submitted.Skipped; without it,
// or when no input is valid, nothing is stored and the error names every
// problem of every input. The idempotency key's hash is of the campaign as
// submitted (head and the inputs kept), not of the request's bytes, so
// that a multipart retry with a new boundary is the same campaign.
func (s *Service) SubmitInputs(ctx context.Context, tenant, idemKey string, head Submission, inputs []ParsedInput, skipInvalid bool, name FieldNamer, warnings []string) (*Submitted, error) {
	sub, reqs, skipped, err := s.checkInputs(head, inputs, skipInvalid, name)
	if err != nil {
		return nil, err
	}
	cells := make([][]string, len(sub.Prospects))
	for i := range sub.Prospects {
		cells[i] = sub.Prospects[i].Cells
	}
	body, err := json.Marshal(struct {
		Submission
		Columns []string   `json:"columns"`
		Cells   [][]string `json:"cells"`
		Skipped []Skipped  `json:"skipped"`
	}{sub, sub.Columns, cells, skipped})
	if err != nil {
		return nil, fmt.Errorf("hash campaign: %w", err)
	}
	out, err := s.submit(ctx, tenant, idemKey, body, &sub, reqs, warnings)
	if err != nil {
		return nil, err
	}
	out.Skipped = skipped
	return out, nil
}

// checkInputs validates a campaign read from a file as SubmitInputs
// describes, and returns it with the inputs kept, their requests and the
// inputs left out.
func (s *Service) checkInputs(head Submission, inputs []ParsedInput, skipInvalid bool, name FieldNamer) (Submission, []email.Request, []Skipped, error) {
	v := &fault.Fields{}
	email.CheckText(v, "name", head.Name, email.MaxShortLen)
	if head.WebhookURL != "" {
		if err := checkWebhookURL(head.WebhookURL); err != nil {
			v.Add("webhook_url", "%v", err)
		}
	}
	email.CheckModel(v, "defaults.options.model", head.Defaults.Options.Model, s.AllowedModels)
	CheckMaxCost(v, "max_cost_usd", nonZero(head.MaxCostUSD))
	if n := textBytes(head.Columns); n > MaxColumnsBytes {
		v.Add("columns", "the header holds %d bytes; a campaign keeps at most %d", n, MaxColumnsBytes)
	}
	if n, max := len(inputs), s.maxProspects(); n > max {
		v.Add("rows", "has %d prospects; a campaign holds at most %d (split it into several campaigns)", n, max)
		return Submission{}, nil, nil, v.Err()
	}
	var (
		problems = *v
		skipped  []Skipped
		reqs     []email.Request
	)
	sub := head
	sub.Prospects = nil
	for i := range inputs {
		e := &inputs[i]
		ev := append(fault.Fields{}, e.Problems...)
		raw := &fault.Fields{}
		email.CheckText(raw, "ref", e.Input.Ref, email.MaxShortLen)
		req := e.Input.Request(head.Defaults)
		req.AddTo(raw, "")
		email.CheckModel(raw, "options.model", e.Input.Options.Model, s.AllowedModels)
		if n := textBytes(e.Input.Cells); n > MaxCellsBytes {
			raw.Add("", "holds %d bytes; a row holds at most %d", n, MaxCellsBytes)
		}
		for _, f := range *raw {
			ev = append(ev, fault.FieldError{Field: name(i, f.Field), Message: f.Message})
		}
		if len(ev) > 0 {
			problems = append(problems, ev...)
			skipped = append(skipped, Skipped{Index: i, Problems: ev})
			continue
		}
		sub.Prospects = append(sub.Prospects, e.Input)
		reqs = append(reqs, req)
	}
	if len(*v) > 0 || (len(skipped) > 0 && !skipInvalid) {
		return Submission{}, nil, nil, problems.Err()
	}
	if len(reqs) == 0 {
		if len(problems) == 0 {
			problems.Add("rows", "must hold at least one prospect")
		}
		return Submission{}, nil, nil, problems.Err()
	}
	return sub, reqs, skipped, nil
}

// nonZero is &f, or nil for 0 (left out).
func nonZero(f float64) *float64 {
	if f == 0 {
		return nil
	}
	return &f
}

// textBytes is the length of cells together.
func textBytes(cells []string) int {
	n := 0
	for _, c := range cells {
		n += len(c)
	}
	return n
}
