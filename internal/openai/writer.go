package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/prompt"
)

// Writer writes emails with an OpenAI-compatible chat completions API. It
// is safe for concurrent use; all calls share one rate governor.
type Writer struct {
	cfg     Config
	client  *goopenai.Client
	prompts *prompt.Set
	gov     *governor
}

var _ email.Writer = (*Writer)(nil)

// emailSchema is the strict structured-output schema of an answer.
var emailSchema = json.RawMessage(`{"type":"object","properties":{` +
	`"subject":{"type":"string","description":"2 to 5 words"},` +
	`"body":{"type":"string","description":"the whole email text with its line breaks"}},` +
	`"required":["subject","body"],"additionalProperties":false}`)

// responseFormat is shared by every single-email request; go-openai only
// reads it.
var responseFormat = &goopenai.ChatCompletionResponseFormat{
	Type: goopenai.ChatCompletionResponseFormatTypeJSONSchema,
	JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{
		Name: "email", Strict: true, Schema: emailSchema,
	},
}

// multiFormats[n] asks for n emails (variants or a sequence) as required
// properties email_1 … email_n: strict mode then guarantees exactly n,
// which an array schema cannot (strict mode ignores minItems).
var multiFormats = func() map[int]*goopenai.ChatCompletionResponseFormat {
	out := make(map[int]*goopenai.ChatCompletionResponseFormat)
	for n := 2; n <= max(email.MaxVariants, 1+email.MaxFollowUps); n++ {
		var props, req []string
		for i := 1; i <= n; i++ {
			props = append(props, fmt.Sprintf("%q:%s", emailKey(i), emailSchema))
			req = append(req, fmt.Sprintf("%q", emailKey(i)))
		}
		schema := json.RawMessage(`{"type":"object","properties":{` + strings.Join(props, ",") +
			`},"required":[` + strings.Join(req, ",") + `],"additionalProperties":false}`)
		out[n] = &goopenai.ChatCompletionResponseFormat{
			Type:       goopenai.ChatCompletionResponseFormatTypeJSONSchema,
			JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{Name: "emails", Strict: true, Schema: schema},
		}
	}
	return out
}()

func emailKey(i int) string { return "email_" + strconv.Itoa(i) }

// New returns a Writer, or an error listing every problem with cfg.
func New(cfg Config, prompts *prompt.Set) (*Writer, error) {
	err := cfg.validate()
	if prompts == nil {
		err = errors.Join(err, errors.New("prompts are required"))
	}
	if err != nil {
		return nil, fmt.Errorf("openai config: %w", err)
	}
	cfg = cfg.withDefaults()
	cc := goopenai.DefaultConfig(cfg.APIKey)
	cc.BaseURL = cfg.BaseURL
	cc.HTTPClient = httpClient(cfg.HTTPClient)
	return &Writer{
		cfg:     cfg,
		client:  goopenai.NewClientWithConfig(cc),
		prompts: prompts,
		gov:     newGovernor(cfg, cfg.Now()),
	}, nil
}

// Write asks the model for the email of job. On a repair job the model
// sees its previous draft and the problems to fix. An answer that is not
// the JSON email gets one repair round; Draft.Usage counts both calls. On
// failure the error is an *email.Error, and the Draft still carries the
// usage spent, for cost accounting.
func (w *Writer) Write(ctx context.Context, job email.Job) (email.Draft, error) {
	if job.Request == nil {
		return email.Draft{}, errors.New("openai: job has no request")
	}
	data := prompt.NewData(job.Request, job.Problems)
	msgs, err := w.messages(data, job.Previous)
	if err != nil {
		return email.Draft{}, err
	}
	opts := data.Options
	n := data.Emails
	req := goopenai.ChatCompletionRequest{
		Model:               w.cfg.Model,
		Messages:            msgs,
		MaxCompletionTokens: n * maxCompletionTokens(opts.MaxWords),
		ResponseFormat:      responseFormat,
	}
	if n > 1 {
		req.ResponseFormat = multiFormats[n]
	}
	if opts.Model != "" {
		req.Model = opts.Model
	}
	if t := opts.Temperature; t != nil {
		// go-openai omits a zero temperature (omitempty), which would
		// leave the provider's default of 1; the smallest float32 is
		// zero in effect and is sent.
		req.Temperature = max(float32(*t), math.SmallestNonzeroFloat32)
	}

	var b budget
	var draft email.Draft
	resp, err := w.complete(ctx, &b, &req)
	if err != nil {
		return draft, err
	}
	draft.Model, draft.Usage = modelOf(resp, req.Model), usage(resp.Usage)
	content, refused := answer(resp)
	if refused != "" {
		return draft, &email.Error{Kind: email.KindBadOutput, Err: errors.New("the model refused")}
	}
	emails, problems := parse(content, n)
	if len(problems) == 0 {
		setEmails(&draft, emails)
		return draft, nil
	}

	// One repair round: show the model what it sent and what is wrong.
	fix, err := w.prompts.Repair(prompt.NewData(job.Request, problems))
	if err != nil {
		return draft, err
	}
	req.Messages = append(req.Messages, assistant(content),
		goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: fix})
	resp, err = w.complete(ctx, &b, &req)
	if err != nil {
		return draft, err
	}
	draft.Model, draft.Usage = modelOf(resp, req.Model), draft.Usage.Add(usage(resp.Usage))
	content, refused = answer(resp)
	if refused != "" {
		return draft, &email.Error{Kind: email.KindBadOutput, Err: errors.New("the model refused")}
	}
	emails, problems = parse(content, n)
	if len(problems) > 0 {
		// The problems name what was wrong, never the text: errors are
		// logged, and the text is about the prospect.
		return draft, &email.Error{Kind: email.KindBadOutput,
			Err: fmt.Errorf("answer unusable after a repair: %s", strings.Join(problems, "; "))}
	}
	setEmails(&draft, emails)
	return draft, nil
}

func setEmails(d *email.Draft, emails []email.Message) {
	d.Subject, d.Body = emails[0].Subject, emails[0].Body
	d.More = emails[1:]
	if len(d.More) == 0 {
		d.More = nil
	}
}

// messages renders the conversation: system and user, and on a repair job
// the previous draft as the model's answer and the repair prompt.
func (w *Writer) messages(d prompt.Data, prev *email.Draft) ([]goopenai.ChatCompletionMessage, error) {
	sys, err := w.prompts.System(d)
	if err != nil {
		return nil, err
	}
	user, err := w.prompts.User(d)
	if err != nil {
		return nil, err
	}
	msgs := make([]goopenai.ChatCompletionMessage, 2, 6)
	msgs[0] = goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleSystem, Content: sys}
	msgs[1] = goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: user}
	if prev == nil {
		return msgs, nil
	}
	fix, err := w.prompts.Repair(d)
	if err != nil {
		return nil, err
	}
	return append(msgs, assistant(draftJSON(prev)),
		goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleUser, Content: fix}), nil
}

type emailJSON struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// draftJSON renders a draft as the model would have answered it.
func draftJSON(d *email.Draft) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// Strings cannot fail to encode.
	if len(d.More) == 0 {
		_ = enc.Encode(emailJSON{Subject: d.Subject, Body: d.Body})
	} else {
		m := make(map[string]emailJSON)
		for i, e := range d.All() {
			m[emailKey(i+1)] = emailJSON{Subject: e.Subject, Body: e.Body}
		}
		_ = enc.Encode(m)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func assistant(content string) goopenai.ChatCompletionMessage {
	if content == "" {
		// An assistant message needs content; say what there was.
		content = "(no answer)"
	}
	return goopenai.ChatCompletionMessage{Role: goopenai.ChatMessageRoleAssistant, Content: content}
}

// maxCompletionTokens bounds the answer: about 1.3 tokens per English word
// and more in other languages, plus the subject and the JSON around them.
func maxCompletionTokens(maxWords int) int { return 4*maxWords + 100 }

// answer returns the first choice's content, or the model's refusal.
func answer(resp goopenai.ChatCompletionResponse) (content, refusal string) {
	if len(resp.Choices) == 0 {
		return "", ""
	}
	m := resp.Choices[0].Message
	return m.Content, m.Refusal
}

// parse reads the answer's n emails and lists what is wrong with them, in
// words the repair prompt can hand back to the model. It forgives a
// markdown code fence, which models that ignore response_format add.
func parse(content string, n int) (emails []email.Message, problems []string) {
	s := strings.TrimSpace(content)
	if rest, ok := strings.CutPrefix(s, "```"); ok {
		_, rest, _ = strings.Cut(rest, "\n")
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "```"))
	}
	if n <= 1 {
		var e emailJSON
		if s == "" || s[0] != '{' || json.Unmarshal([]byte(s), &e) != nil {
			return nil, []string{`the answer must be only the JSON object {"subject": "...", "body": "..."}, with nothing before or after it`}
		}
		m, problems := check(e, "")
		return []email.Message{m}, problems
	}
	var all map[string]emailJSON
	if s == "" || s[0] != '{' || json.Unmarshal([]byte(s), &all) != nil {
		return nil, []string{fmt.Sprintf(`the answer must be only the JSON object {"email_1": {"subject": "...", "body": "..."}, ...} with %d emails, with nothing before or after it`, n)}
	}
	for i := 1; i <= n; i++ {
		e, ok := all[emailKey(i)]
		if !ok {
			problems = append(problems, emailKey(i)+" is missing")
			continue
		}
		m, p := check(e, emailKey(i)+": ")
		emails = append(emails, m)
		problems = append(problems, p...)
	}
	return emails, problems
}

func check(e emailJSON, prefix string) (email.Message, []string) {
	m := email.Message{Subject: strings.TrimSpace(e.Subject), Body: strings.TrimSpace(e.Body)}
	var problems []string
	if m.Subject == "" {
		problems = append(problems, prefix+"the subject is missing or empty")
	}
	if m.Body == "" {
		problems = append(problems, prefix+"the body is missing or empty")
	}
	return m, problems
}

func usage(u goopenai.Usage) email.Usage {
	return email.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
}

func modelOf(resp goopenai.ChatCompletionResponse, requested string) string {
	if resp.Model != "" {
		return resp.Model
	}
	return requested
}
