package campaign_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/fault"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/internal/testprog"
	"github.com/ingren/ingren/internal/tokens"
	"github.com/ingren/ingren/prompts"
)

// estimateService is a Service that renders the real prompts, over stores
// a test can look into.
func estimateService(t testing.TB) (*campaign.Service, *prompt.Set) {
	t.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		t.Fatal(err)
	}
	store, queue := testprog.LocalParts(t, time.Hour)
	return &campaign.Service{Store: store, Queue: queue, Composer: &email.Composer{Prompts: set},
		AllowedModels: []string{"gpt-4o-mini", "gpt-4.1", "my-local-model"}}, set
}

// promptTokens counts req's first call independently of Estimate: the
// prompt set's rendering, counted as the test server counts the request.
func promptTokens(t *testing.T, set *prompt.Set, req email.Request, model string) int {
	t.Helper()
	p, err := set.Prompt(&req, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []tokens.Message
	for _, m := range p.Messages {
		msgs = append(msgs, tokens.Message{Role: string(m.Role), Content: m.Content})
	}
	name, schema := p.Answer.Schema()
	return tokens.For(model).Chat(msgs, name, schema)
}

func nothingStored(t *testing.T, svc *campaign.Service) {
	t.Helper()
	list, _, err := svc.List(context.Background(), "t", campaign.Page{Limit: 10})
	if err != nil || len(list) != 0 {
		t.Fatalf("stored %d campaigns (%v), want none", len(list), err)
	}
}

func TestEstimate(t *testing.T) {
	ctx := context.Background()
	ada := email.Request{Prospect: email.Prospect{FirstName: "Ada", JobTitle: "CTO"}, Company: email.Company{CompanyName: "Acme"},
		Sender: email.Sender{Name: "Bo"}}
	jo := email.Request{Prospect: email.Prospect{FirstName: "Jo"}, Company: email.Company{CompanyName: "Beta"},
		Sender: email.Sender{Name: "Bo"}, Options: email.Options{MaxWords: 60, Variants: 3}}
	body := `{"name":"q3","mode":"batch","defaults":{"sender":{"name":"Bo"}},"prospects":[
		{"prospect":{"first_name":"Ada","job_title":"CTO"},"company":{"company_name":"Acme"}},
		{"prospect":{"first_name":"Jo"},"company":{"company_name":"Beta"},"options":{"max_words":60,"variants":3}}]}`

	t.Run("OK", func(t *testing.T) {
		svc, set := estimateService(t)
		est, err := svc.Estimate(ctx, "t", []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		wantPrompt := promptTokens(t, set, ada, "gpt-4o-mini") + promptTokens(t, set, jo, "gpt-4o-mini")
		wantCompletion := campaign.CompletionTokens(1, 125) + campaign.CompletionTokens(3, 60)
		if est.Total != 2 || est.PromptTokens != wantPrompt || est.CompletionTokens != wantCompletion {
			t.Fatalf("estimate = %d prospects, %d prompt, %d completion tokens; want 2, %d, %d",
				est.Total, est.PromptTokens, est.CompletionTokens, wantPrompt, wantCompletion)
		}
		p, _ := price.Default().Lookup("gpt-4o-mini")
		rt := (float64(wantPrompt)*p.Input + float64(wantCompletion)*p.Output) / 1e6
		if est.RealtimeUSD == nil || est.BatchUSD == nil || math.Abs(*est.RealtimeUSD-rt) > 1e-12 ||
			math.Abs(*est.BatchUSD-rt*p.Batch) > 1e-12 {
			t.Fatalf("cost = %v / %v, want %v realtime / %v batch", est.RealtimeUSD, est.BatchUSD, rt, rt*p.Batch)
		}
		nothingStored(t, svc)
	})
	t.Run("OKModelPerProspect", func(t *testing.T) {
		svc, set := estimateService(t)
		b := strings.Replace(body, `"max_words":60`, `"max_words":60,"model":"gpt-4.1"`, 1)
		est, err := svc.Estimate(ctx, "t", []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		jo := jo
		jo.Options.Model = "gpt-4.1"
		tab := price.Default()
		rtMini, _ := tab.Cost("gpt-4o-mini", email.Usage{PromptTokens: promptTokens(t, set, ada, "gpt-4o-mini"), CompletionTokens: campaign.CompletionTokens(1, 125)})
		rt41, _ := tab.Cost("gpt-4.1", email.Usage{PromptTokens: promptTokens(t, set, jo, "gpt-4.1"), CompletionTokens: campaign.CompletionTokens(3, 60)})
		if est.RealtimeUSD == nil || math.Abs(*est.RealtimeUSD-(rtMini+rt41)) > 1e-12 {
			t.Fatalf("realtime cost = %v, want %v", est.RealtimeUSD, rtMini+rt41)
		}
	})
	t.Run("OKUnknownModelHasNoPrice", func(t *testing.T) {
		svc, _ := estimateService(t)
		b := strings.Replace(body, `"max_words":60`, `"max_words":60,"model":"my-local-model"`, 1)
		est, err := svc.Estimate(ctx, "t", []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if est.RealtimeUSD != nil || est.BatchUSD != nil || est.PromptTokens == 0 {
			t.Fatalf("estimate = %+v, want tokens and no cost", est)
		}
		if len(est.Warnings) != 1 || !strings.Contains(est.Warnings[0], `"my-local-model"`) {
			t.Fatalf("warnings = %q, want one naming my-local-model", est.Warnings)
		}
	})
	t.Run("ErrSameAsSubmit", func(t *testing.T) {
		svc, _ := estimateService(t)
		bad := `{"prospects":[{"prospect":{"first_name":""}},{"prospect":{"first_name":"Jo"},"company":{"company_name":"B"},"options":{"model":"gpt-9"}}],"mode":"slow"}`
		_, estErr := svc.Estimate(ctx, "t", []byte(bad))
		_, subErr := svc.Submit(ctx, "t", "", []byte(bad))
		var fe *fault.Error
		if !errors.As(estErr, &fe) || fe.Code != fault.Invalid || !reflect.DeepEqual(estErr, subErr) {
			t.Fatalf("estimate's error %v, submit's %v: want the same fault.Invalid", estErr, subErr)
		}
		nothingStored(t, svc)
	})
}

func TestEstimateInputs(t *testing.T) {
	ctx := context.Background()
	svc, set := estimateService(t)
	head := campaign.Submission{Defaults: campaign.Defaults{Sender: email.Sender{Name: "Bo"}}}
	mixed := []campaign.ParsedInput{entry("Ada", "Acme"), entry("", "Beta"), entry("Cy", "Cee")}
	_, err := svc.EstimateInputs(ctx, "t", head, mixed, false, rowName, nil)
	var fe *fault.Error
	if !errors.As(err, &fe) || len(fe.Fields) != 1 || fe.Fields[0].Field != "rows[3].prospect.first_name" {
		t.Fatalf("err = %v, want rows[3].prospect.first_name", err)
	}
	est, err := svc.EstimateInputs(ctx, "t", head, mixed, true, rowName, []string{"a warning"})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, e := range []campaign.ParsedInput{mixed[0], mixed[2]} {
		want += promptTokens(t, set, e.Input.Request(head.Defaults), "gpt-4o-mini")
	}
	if est.Total != 2 || est.PromptTokens != want || len(est.Skipped) != 1 || est.Skipped[0].Index != 1 ||
		!slices.Equal(est.Warnings, []string{"a warning"}) {
		t.Fatalf("estimate = %+v, want 2 prospects, %d prompt tokens, input 1 skipped, the warning", est, want)
	}
	nothingStored(t, svc)
}
