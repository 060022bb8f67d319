package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// startFromEnv runs the local program as its main would: its configuration
// read from env (with a fresh DATA_DIR), its worker running.
func startFromEnv(t *testing.T, env map[string]string) string {
	t.Helper()
	env["DATA_DIR"] = t.TempDir()
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return serveLocal(t, cfg, []string{testKey})
}

type problemView struct {
	Warnings []string `json:"warnings"`
	Model    string   `json:"model"`
	Error    *struct {
		Code   string `json:"code"`
		Fields []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"fields"`
	} `json:"error"`
}

// MustFields returns the fields a 422 names, failing on any other answer.
func MustFields(tb testing.TB, status int, body []byte) ([]string, problemView) {
	tb.Helper()
	v := testprog.MustDecode[problemView](tb, body)
	if status != http.StatusUnprocessableEntity || v.Error == nil || v.Error.Code != "validation_failed" {
		tb.Fatalf("got %d %s; want 422 validation_failed", status, body)
	}
	var fields []string
	for _, f := range v.Error.Fields {
		fields = append(fields, f.Field)
	}
	return fields, v
}

const (
	goodProspect = `"prospect": {"first_name": "Sarah"}, "company": {"company_name": "TechNova"}`
	emailURL     = "/api/v1/generate-email"
	campaignsURL = "/api/v1/campaigns"
)

func TestLocalAllowsOnlyConfiguredModels(t *testing.T) {
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL, "ALLOWED_MODELS": "gpt-4o"})

	t.Run("ErrGenerateEmail", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`, "options": {"model": "o1-pro"}}`)
		fields, v := MustFields(t, status, body)
		if !slices.Equal(fields, []string{"options.model"}) || !strings.Contains(v.Error.Fields[0].Message, "gpt-4o-mini, gpt-4o") {
			t.Fatalf("422 %s: want options.model, listing the allowed models", body)
		}
	})
	t.Run("ErrCampaign", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+campaignsURL, testKey, `{"defaults": {"options": {"model": "o1-pro"}}, "prospects": [
			{`+goodProspect+`, "options": {"model": "gpt-4o"}}, {`+goodProspect+`, "options": {"model": "o3"}}]}`)
		fields, _ := MustFields(t, status, body)
		if !slices.Equal(fields, []string{"defaults.options.model", "prospects[1].options.model"}) {
			t.Fatalf("fields %v: want the defaults' model and entry 1's", fields)
		}
	})
	if n := up.Count(); n != 0 {
		t.Fatalf("refused requests reached the model %d times", n)
	}
	t.Run("OKAllowedModel", func(t *testing.T) {
		for _, model := range []string{"gpt-4o", "gpt-4o-mini"} {
			status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`, "options": {"model": "`+model+`"}}`)
			if status != http.StatusOK {
				t.Fatalf("model %s: %d %s", model, status, body)
			}
			reqs := up.Requests()
			if got := reqs[len(reqs)-1].Body.Model; got != model {
				t.Fatalf("the provider was asked for %q, want %q", got, model)
			}
		}
	})
}

// TestLocalOfflineAllowsOnlyConfiguredModels: offline mode bills nothing,
// but applies the same rule, so an integration built against it does not
// meet a new 422 in production.
func TestLocalOfflineAllowsOnlyConfiguredModels(t *testing.T) {
	base := startFromEnv(t, map[string]string{})
	status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`, "options": {"model": "gpt-4o"}}`)
	if fields, _ := MustFields(t, status, body); !slices.Equal(fields, []string{"options.model"}) {
		t.Fatalf("fields %v", fields)
	}
	status, _, body = testprog.Do(t, "POST", base+emailURL, testKey, `{`+goodProspect+`, "options": {"model": "gpt-4o-mini"}}`)
	if status != http.StatusOK {
		t.Fatalf("the default OPENAI_MODEL must be allowed: %d %s", status, body)
	}
}

func TestLocalNamesEveryProblemAtOnce(t *testing.T) {
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL})

	t.Run("ErrCampaign", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+campaignsURL, testKey, `{"prospects": [
			{"prospect": {"first_name": "A", "tenure_months": "ten"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "B"}, "company": {"company_name": "X"}},
			{"prospect": {"last_name": "C"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "D"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "E"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "F"}, "company": {"industry": "SaaS"}}]}`)
		fields, _ := MustFields(t, status, body)
		want := []string{"prospects[0].prospect.tenure_months", "prospects[2].prospect.first_name", "prospects[5].company.company_name"}
		if !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		status, _, body = testprog.Do(t, "GET", base+campaignsURL, testKey, nil)
		if status != http.StatusOK || strings.Contains(string(body), "campaign_id") {
			t.Fatalf("an invalid campaign was stored: %d %s", status, body)
		}
	})
	t.Run("ErrGenerateEmail", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey,
			`{"prospect": {"tenure_months": "ten", "email": "nope"}, "company": {"employee_count": -1}, "options": {"model": "o1-pro", "max_words": "many"}}`)
		fields, _ := MustFields(t, status, body)
		want := []string{"prospect.tenure_months", "options.max_words", "prospect.first_name", "prospect.email",
			"company.company_name", "company.employee_count", "options.model"}
		if !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
	})
	t.Run("ErrControlCharacters", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey,
			`{"prospect": {"first_name": "Sa\u0000rah", "hobby": "x\u001b[2J"}, "company": {"company_name": "TechNova\u0007"}}`)
		fields, _ := MustFields(t, status, body)
		if want := []string{"prospect.first_name", "prospect.hobby", "company.company_name"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		status, _, body = testprog.Do(t, "POST", base+campaignsURL, testKey, `{"name": "Q4\u0000", "prospects": [{"ref": "r\u0001", `+goodProspect+`}]}`)
		fields, _ = MustFields(t, status, body)
		if want := []string{"name", "prospects[0].ref"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
	})
	if n := up.Count(); n != 0 {
		t.Fatalf("invalid requests reached the model %d times", n)
	}
}

func TestLocalWarnsOfNearMisses(t *testing.T) {
	up := openaitest.New(t)
	base := startFromEnv(t, map[string]string{"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": up.URL})

	t.Run("GenerateEmail", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey,
			`{"PROSPECT": {"first_name": "Sarah", "jobTitle": "VP of Sales"}, "company": {"company_name": "TechNova", "company_Name": "TechNova"}, "optoins": {}}`)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		v := testprog.MustDecode[problemView](t, body)
		for _, w := range []string{
			"PROSPECT: read as prospect; send it as prospect",
			"prospect.jobTitle: unknown field, did you mean job_title?",
			"company.company_Name: read as company_name; send it as company_name",
			"optoins: unknown field ignored, did you mean options?",
		} {
			if !slices.Contains(v.Warnings, w) {
				t.Errorf("warnings %q lack %q", v.Warnings, w)
			}
		}
		user := up.Requests()[0].Body.Messages[1].Content
		if !strings.Contains(user, `"jobTitle": "VP of Sales"`) {
			t.Errorf("the near miss must still reach the model as context:\n%s", user)
		}
	})
	t.Run("ErrGenerateEmailMissingFieldNamesTheNearMiss", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+emailURL, testKey, `{"prospect": {"firstName": "Sarah"}, "company": {"company_name": "TechNova"}}`)
		fields, v := MustFields(t, status, body)
		if !slices.Equal(fields, []string{"prospect.first_name"}) || !strings.Contains(v.Error.Fields[0].Message, "did you mean first_name?") {
			t.Fatalf("422 %s", body)
		}
	})
	t.Run("Campaign", func(t *testing.T) {
		status, _, body := testprog.Do(t, "POST", base+campaignsURL, testKey, `{"prospects": [
			{"prospect": {"first_name": "A"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "B", "jobTitle": "VP"}, "company": {"company_name": "X"}},
			{"prospect": {"first_name": "C", "jobTitle": "CTO"}, "company": {"company_name": "X"}, "ctaa": {}}]}`)
		if status != http.StatusAccepted {
			t.Fatalf("%d %s", status, body)
		}
		v := testprog.MustDecode[problemView](t, body)
		want := []string{
			"prospects[1].prospect.jobTitle: unknown field, did you mean job_title? (and in 1 other prospect)",
			"prospects[2].ctaa: unknown field ignored, did you mean cta?",
		}
		if !slices.Equal(v.Warnings, want) {
			t.Fatalf("warnings %q, want %q", v.Warnings, want)
		}
	})
}
