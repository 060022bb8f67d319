package openai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
)

// Writer makes model calls with an OpenAI-compatible chat completions API:
// it sends the Prompt the composer built and parses the answer. It is safe
// for concurrent use; all calls share one rate governor.
type Writer struct {
	cfg    Config
	client *goopenai.Client
	gov    *governor
}

var _ email.Writer = (*Writer)(nil)

// New returns a Writer, or an error listing every problem with cfg.
func New(cfg Config) (*Writer, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("openai config: %w", err)
	}
	cfg = cfg.withDefaults()
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = cfg.BaseURL
	cc.HTTPClient = httpClient(cfg.HTTPClient)
	return &Writer{
		cfg:    cfg,
		client: goopenai.NewClientWithConfig(cc),
		gov:    newGovernor(cfg, cfg.Now()),
	}, nil
}

// Write sends p and parses the answer. An answer that is not p.Answer's
// JSON gets one repair round, with p.Repair's message; Draft.Usage counts
// both calls. When p.Answered holds the first call's answer (a batch
// line), Write takes it instead of calling, and calls only for the repair
// round; Draft.Usage then counts that answer's usage as it came, batch
// part included. On failure the error is an *email.Error, and the Draft
// still carries the usage spent, for cost accounting.
func (w *Writer) Write(ctx context.Context, p email.Prompt) (email.Draft, error) {
	if len(p.Messages) == 0 || p.Repair == nil {
		return email.Draft{}, errors.New("openai: the prompt has no messages or no repair message")
	}
	req := w.request(p)
	var b budget
	var draft email.Draft
	var content, refused string
	if a := p.Answered; a != nil {
		draft.Model, draft.Usage = a.Model, a.Usage
		if draft.Model == "" {
			draft.Model = req.Model
		}
		content, refused = a.Content, a.Refusal
	} else {
		resp, err := w.complete(ctx, &b, &req)
		if err != nil {
			return draft, err
		}
		draft.Model, draft.Usage = modelOf(resp, req.Model), usage(resp.Usage)
		content, refused = answer(resp)
	}
	if refused != "" {
		return draft, &email.Error{Kind: email.KindBadOutput, Err: errors.New("the model refused")}
	}
	emails, problems := p.Answer.Parse(content)
	if len(problems) == 0 {
		setEmails(&draft, emails)
		return draft, nil
	}

	// One repair round: show the model what it sent and what is wrong.
	fix, err := p.Repair(problems)
	if err != nil {
		return draft, err
	}
	if o := w.cfg.Observer; o != nil {
		o.Repaired(draft.Model, email.RepairAnswer)
	}
	req.Messages = append(req.Messages, assistant(content),
		goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: fix})
	resp, err := w.complete(ctx, &b, &req)
	if err != nil {
		return draft, err
	}
	draft.Model, draft.Usage = modelOf(resp, req.Model), draft.Usage.Add(usage(resp.Usage))
	content, refused = answer(resp)
	if refused != "" {
		return draft, &email.Error{Kind: email.KindBadOutput, Err: errors.New("the model refused")}
	}
	emails, problems = p.Answer.Parse(content)
	if len(problems) > 0 {
		// The problems name what was wrong, never the text: errors are
		// logged, and the text is about the prospect.
		return draft, &email.Error{Kind: email.KindBadOutput,
			Err: fmt.Errorf("answer unusable after a repair: %s", strings.Join(problems, "; "))}
	}
	setEmails(&draft, emails)
	return draft, nil
}

// request is p as a chat completion request, with room for a repair round.
func (w *Writer) request(p email.Prompt) goopenai.ChatCompletionRequest {
	msgs := make([]goopenai.ChatCompletionMessage, len(p.Messages), len(p.Messages)+2)
	for i, m := range p.Messages {
		msgs[i] = goopenai.ChatCompletionMessage{Role: string(m.Role), Content: m.Content}
	}
	req := goopenai.ChatCompletionRequest{
		Model:               w.cfg.Model,
		Messages:            msgs,
		MaxCompletionTokens: p.MaxTokens,
		ResponseFormat:      responseFormat(p.Answer),
	}
	if p.Model != "" {
		req.Model = p.Model
	}
	if t := p.Temperature; t != nil {
		// go-openai omits a zero temperature (omitempty), which would
		// leave the provider's default of 1; the smallest float32 is
		// zero in effect and is sent.
		req.Temperature = max(float32(*t), math.SmallestNonzeroFloat32)
	}
	return req
}

// responseFormats[n] is the response format of an answer of n emails, for
// every n a valid request can ask for: built once, as every call sends
// one. go-openai only reads it.
var responseFormats = func() []*goopenai.ChatCompletionResponseFormat {
	out := make([]*goopenai.ChatCompletionResponseFormat, 1+max(email.MaxVariants, 1+email.MaxFollowUps))
	for n := 1; n < len(out); n++ {
		out[n] = newResponseFormat(email.Answer{Emails: n})
	}
	return out
}()

// responseFormat asks for a's strict JSON schema (structured output).
func responseFormat(a email.Answer) *goopenai.ChatCompletionResponseFormat {
	if a.Emails > 0 && a.Emails < len(responseFormats) {
		return responseFormats[a.Emails]
	}
	return newResponseFormat(a)
}

func newResponseFormat(a email.Answer) *goopenai.ChatCompletionResponseFormat {
	name, schema := a.Schema()
	return &goopenai.ChatCompletionResponseFormat{
		Type:       goopenai.ChatCompletionResponseFormatTypeJSONSchema,
		JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{Name: name, Strict: true, Schema: schema},
	}
}

func setEmails(d *email.Draft, emails []email.Message) {
	d.Subject, d.Body = emails[0].Subject, emails[0].Body
	d.More = emails[1:]
	if len(d.More) == 0 {
		d.More = nil
	}
}

func assistant(content string) goopenai.ChatCompletionMessage {
	if content == "" {
		// An assistant message needs content; say what there was.
		content = "(no answer)"
	}
	return goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: content}
}

// answer returns the first choice's content, or the model's refusal.
func answer(resp goopenai.ChatCompletionResponse) (content, refusal string) {
	if len(resp.Choices) == 0 {
		return "", ""
	}
	m := resp.Choices[0].Message
	return m.Content, m.Refusal
}

func usage(u goopenai.Usage) email.Usage {
	out := email.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if u.PromptTokensDetails != nil {
		out.CachedPromptTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

func modelOf(resp goopenai.ChatCompletionResponse, requested string) string {
	if resp.Model != "" {
		return resp.Model
	}
	return requested
}
