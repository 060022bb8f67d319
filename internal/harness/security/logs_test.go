package security_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ingren/ingren/internal/openaitest"
	"github.com/ingren/ingren/internal/testprog"
)

// Distinctive values, so that finding one in the logs cannot be chance.
const (
	apiKey        = "ingren-key-Qw7Rt2Zp9Lm4Xc8V"
	wrongKey      = "wrong-key-Hy3Jk6Nb1Vf5Gd0S"
	openAIKey     = "sk-openai-Uo2Ie9Aw4Sd7Fg1H"
	webhookSecret = "whsec-Mn8Bv3Cx6Zl2Kj5H"
	// webhookToken is the secret part of a webhook URL, as in a Slack
	// incoming webhook's path.
	webhookToken = "T0HOOK-Pe4Wd9Rf2Sa6"
)

// prospectData are the values of the distinctive prospect that the logs
// must not hold at info level.
var prospectData = []string{"Zephyrine", "Quillfeather", "Xylocorp Dynamics", "Glimmerstone", "Blorptastic", "zq@xylocorp.example"}

func distinctive() map[string]any {
	return map[string]any{
		"prospect": map[string]any{"first_name": "Zephyrine", "last_name": "Quillfeather", "email": "zq@xylocorp.example",
			"notable_achievement": "Closed the Glimmerstone deal", "secret_note": "Blorptastic"},
		"company": map[string]any{"company_name": "Xylocorp Dynamics", "industry": "SaaS"},
	}
}

// TestLogsHoldNoSecretsOrProspectData runs the local program and drives it
// through its logging paths: a good email, upstream 5xx, 400 and garbage,
// a wrong key, an invalid request, a campaign with a failed item and a
// refused webhook. Neither stdout nor the JSON log may then hold the API
// key, the wrong key, the OpenAI key, the webhook secret or the token in a
// webhook URL, at any level; at info level (the default), not the
// prospect's data either.
func TestLogsHoldNoSecretsOrProspectData(t *testing.T) {
	for _, level := range []string{"info", "debug"} {
		t.Run(level, func(t *testing.T) {
			up := openaitest.New(t, openaitest.WithAPIKey(openAIKey))
			prog := testprog.Start(t, map[string]string{
				"DATA_DIR": t.TempDir(), "API_KEYS": apiKey, "OPENAI_BASE_URL": up.URL, "OPENAI_API_KEY": openAIKey,
				"WEBHOOK_SECRET": webhookSecret, "LOG_LEVEL": level, "WORKER_CONCURRENCY": "2",
			})
			gen := prog.URL + "/api/v1/generate-email"
			expect := func(want int, key string, body any) {
				t.Helper()
				if status, _, b := testprog.Do(t, "POST", gen, key, body); status != want {
					t.Fatalf("generate-email: %d, want %d: %s", status, want, b)
				}
			}
			expect(http.StatusOK, apiKey, distinctive())
			up.Enqueue(openaitest.Status(500), openaitest.Status(500), openaitest.Status(500), openaitest.Status(500))
			expect(http.StatusBadGateway, apiKey, distinctive())
			up.Enqueue(openaitest.Status(400))
			expect(http.StatusBadGateway, apiKey, distinctive())
			up.Enqueue(openaitest.Malformed(), openaitest.Malformed())
			expect(http.StatusBadGateway, apiKey, distinctive())
			expect(http.StatusUnauthorized, wrongKey, distinctive())
			bad := distinctive()
			bad["prospect"].(map[string]any)["first_name"] = strings.Repeat("Zephyrine", 20)
			expect(http.StatusUnprocessableEntity, apiKey, bad)

			// One item is rejected by the provider; the webhook goes to
			// loopback and is refused.
			up.Enqueue(openaitest.Status(400))
			other := distinctive()
			other["prospect"].(map[string]any)["first_name"] = "Zephyrine2"
			id := testprog.HTTP(prog.URL, apiKey).Submit(t, map[string]any{"name": "log test", "webhook_url": "http://127.0.0.1:9/services/" + webhookToken,
				"prospects": []any{distinctive(), other}})
			if c := testprog.HTTP(prog.URL, apiKey).WaitFor(t, id, time.Minute, testprog.Campaign.Final); c.Total != 2 || c.Failed != 1 {
				t.Fatalf("campaign %+v: want one item failed", c)
			}
			waitLog(t, prog.Logs, `"webhook failed"`, id)
			prog.Shutdown(t, time.Minute)

			logs := prog.Logs.String()
			// The search must find the lines it looks in, or it proves nothing.
			for _, want := range []string{`"status":502`, `"status":401`, `"status":422`, `"email failed"`, `"model call failed"`} {
				if !strings.Contains(logs, want) {
					t.Fatalf("the log lacks %s: the test did not drive the path it means to:\n%s", want, logs)
				}
			}
			all := prog.Stdout.String() + logs
			for _, secret := range []string{apiKey, wrongKey, openAIKey, webhookSecret, webhookToken} {
				if strings.Contains(all, secret) {
					t.Errorf("the output holds the secret %q:\n%s", secret, all)
				}
			}
			if level != "info" {
				return
			}
			for _, v := range prospectData {
				if strings.Contains(all, v) {
					t.Errorf("the info log holds prospect data %q:\n%s", v, all)
				}
			}
		})
	}
}
