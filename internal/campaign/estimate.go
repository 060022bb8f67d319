package campaign

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/tokens"
)

// Estimate is what a campaign would cost, worked out before anything is
// stored: a dry run of Submit.
type Estimate struct {
	// Total is the number of prospects the campaign would write for.
	Total int
	// PromptTokens are the tokens of every prospect's first call, counted
	// as the provider bills them (internal/tokens); a repair round, when
	// one is needed, comes on top.
	PromptTokens int
	// CompletionTokens are the expected tokens of the answers, from each
	// prospect's options.max_words and the number of emails it asks for
	// (see CompletionTokens).
	CompletionTokens int
	// RealtimeUSD and BatchUSD are the tokens' price in either mode; nil
	// when the price table does not know a model the campaign uses
	// (Warnings says which): never a guess.
	RealtimeUSD, BatchUSD *float64
	Warnings              []string
	// Skipped lists the inputs EstimateInputs left out, in order.
	Skipped []Skipped
}

// The expected answer of one email, in tokens, for CompletionTokens.
const (
	// expectedFill is the share of max_words a model's body is expected to
	// fill: the prompt asks for a short email within the limit, and models
	// writing to a word limit land well under it (the test server's
	// canned email, written as a typical answer, is 62 body words for the
	// default 125).
	expectedFill = 0.5
	// tokensPerWord is measured with o200k_base on cold emails: 1.28 for
	// English prose, 1.38 for German; cl100k_base is within a few percent.
	tokensPerWord = 1.3
	// answerOverhead is the subject (2 to 5 words) and the JSON around an
	// email ({"subject": "...", "body": "..."}, the escaped line breaks):
	// 16 tokens in the test server's answer.
	answerOverhead = 15
)

// CompletionTokens is the expected size of an answer of emails emails of
// at most maxWords words each: an expectation, not the cap a call sets
// (email.Answer.MaxTokens is about three times as much).
func CompletionTokens(emails, maxWords int) int {
	return emails * (int(math.Round(expectedFill*float64(maxWords)*tokensPerWord)) + answerOverhead)
}

// firstPrompter renders a request's first call; *email.Composer is one.
type firstPrompter interface {
	FirstPrompt(req *email.Request) (email.Prompt, error)
}

// Estimate validates body exactly as Submit does (the same errors) and
// returns what the campaign would cost, storing and enqueueing nothing.
func (s *Service) Estimate(ctx context.Context, tenant string, body []byte) (*Estimate, error) {
	sub, reqs, warnings, err := DecodeSubmission(body, s.maxProspects(), s.AllowedModels)
	if err != nil {
		return nil, err
	}
	return s.estimateBudgeted(ctx, tenant, sub, reqs, warnings)
}

// EstimateInputs validates a campaign read from a file exactly as
// SubmitInputs does and returns what it would cost, storing and
// enqueueing nothing. The inputs skipInvalid leaves out are in
// Estimate.Skipped and cost nothing.
func (s *Service) EstimateInputs(ctx context.Context, tenant string, head Submission, inputs []ParsedInput, skipInvalid bool, name FieldNamer, warnings []string) (*Estimate, error) {
	sub, reqs, skipped, err := s.checkInputs(head, inputs, skipInvalid, name)
	if err != nil {
		return nil, err
	}
	est, err := s.estimateBudgeted(ctx, tenant, &sub, reqs, warnings)
	if err != nil {
		return nil, err
	}
	est.Skipped = skipped
	return est, nil
}

// estimateBudgeted is estimate for a submission that Submit would take:
// its budgets checked as Submit checks them, and a warning when one of
// them would skip prospects.
func (s *Service) estimateBudgeted(ctx context.Context, tenant string, sub *Submission, reqs []email.Request, warnings []string) (*Estimate, error) {
	limit, m, err := s.checkBudgets(ctx, tenant, sub, reqs, s.now())
	if err != nil {
		return nil, err
	}
	est, err := s.estimate(ctx, reqs, warnings)
	if err != nil {
		return nil, err
	}
	cost := est.RealtimeUSD
	if sub.Mode == ModeBatch {
		cost = est.BatchUSD
	}
	if cost == nil || *cost <= 0 {
		return est, nil
	}
	fits := func(room float64) int { return min(est.Total, int(room/(*cost/float64(est.Total)))) }
	if sub.MaxCostUSD > 0 && *cost > sub.MaxCostUSD {
		est.Warnings = append(est.Warnings, fmt.Sprintf(
			"the estimate ($%s) is above max_cost_usd ($%s): about %d of the %d prospects fit, and the rest will end skipped",
			formatUSD(MicroUSD(*cost)), formatUSD(MicroUSD(sub.MaxCostUSD)), fits(sub.MaxCostUSD), est.Total))
	}
	if limit > 0 {
		room := float64(limit-m.SpentMicroUSD-m.ReservedMicroUSD) / 1e6
		if *cost > room {
			est.Warnings = append(est.Warnings, fmt.Sprintf(
				"the estimate ($%s) is above what this API key's monthly budget has left for %s ($%s): about %d of the %d prospects fit, and the rest will end skipped",
				formatUSD(MicroUSD(*cost)), m.Month, formatUSD(MicroUSD(room)), fits(room), est.Total))
		}
	}
	return est, nil
}

// model is the model a prompt that names none is written with: the
// Writer's own, which the app puts first in AllowedModels.
func (s *Service) model() string {
	if s.Model != "" {
		return s.Model
	}
	if len(s.AllowedModels) > 0 {
		return s.AllowedModels[0]
	}
	return ""
}

func (s *Service) prices() Prices {
	if s.Prices != nil {
		return s.Prices
	}
	return price.Default()
}

// callTokens renders req's first call as the worker would and returns
// its model (def when the request names none) and the tokens it is
// expected to use.
func callTokens(fp firstPrompter, memo *tokens.Memo, req *email.Request, def string) (model string, prompt, completion int, err error) {
	p, err := fp.FirstPrompt(req)
	if err != nil {
		return "", 0, 0, err
	}
	model = p.Model
	if model == "" {
		model = def
	}
	msgs := make([]tokens.Message, len(p.Messages))
	for j, m := range p.Messages {
		msgs[j] = tokens.Message{Role: string(m.Role), Content: m.Content}
	}
	name, schema := p.Answer.Schema()
	prompt = memo.Chat(tokens.For(model), msgs, name, schema)
	return model, prompt, CompletionTokens(p.Answer.Emails, req.Options.WithDefaults().MaxWords), nil
}

// estimate renders every request's first call as the worker would and
// counts it; the campaign's mode does not change the tokens, and both
// modes' prices are given.
func (s *Service) estimate(ctx context.Context, reqs []email.Request, warnings []string) (*Estimate, error) {
	fp, ok := s.Composer.(firstPrompter)
	if !ok {
		return nil, fmt.Errorf("estimate: the composer cannot render prompts")
	}
	type spend struct{ prompt, completion int }
	var (
		est     = &Estimate{Total: len(reqs), Warnings: append([]string(nil), warnings...)}
		byModel = map[string]*spend{}
		// memo counts each message text once per encoding: the system
		// prompt is the same for most prospects.
		memo tokens.Memo
	)
	for i := range reqs {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		model, prompt, completion, err := callTokens(fp, &memo, &reqs[i], s.model())
		if err != nil {
			return nil, fmt.Errorf("estimate: render prospect %d: %w", i, err)
		}
		sp := byModel[model]
		if sp == nil {
			sp = &spend{}
			byModel[model] = sp
		}
		sp.prompt += prompt
		sp.completion += completion
	}
	models := make([]string, 0, len(byModel))
	for m := range byModel {
		models = append(models, m)
	}
	sort.Strings(models)
	var realtime, batch float64
	priced := true
	table := s.prices()
	for _, m := range models {
		sp := byModel[m]
		est.PromptTokens += sp.prompt
		est.CompletionTokens += sp.completion
		rt, ok := table.Cost(m, email.Usage{PromptTokens: sp.prompt, CompletionTokens: sp.completion})
		if !ok {
			priced = false
			est.Warnings = append(est.Warnings, fmt.Sprintf("no price is known for model %q: cost_usd is null (MODEL_PRICES can add it)", m))
			continue
		}
		b, _ := table.Cost(m, email.Usage{PromptTokens: sp.prompt, CompletionTokens: sp.completion,
			BatchPromptTokens: sp.prompt, BatchCompletionTokens: sp.completion})
		realtime += rt
		batch += b
	}
	if priced {
		est.RealtimeUSD, est.BatchUSD = &realtime, &batch
	}
	return est, nil
}
