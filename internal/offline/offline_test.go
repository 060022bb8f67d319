package offline_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/offline"
	"github.com/ingren/ingren/internal/prompt"
	"github.com/ingren/ingren/prompts"
)

// mustPrompt renders the call that writes req with the default prompts, as
// the composer does: on a repair round previous is the draft to fix and
// problems what is wrong.
func mustPrompt(tb testing.TB, req *email.Request, previous *email.Draft, problems ...string) email.Prompt {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := set.Prompt(req, previous, problems)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func newRequest() *email.Request {
	return &email.Request{
		Prospect: email.Prospect{FirstName: "Sarah", JobTitle: "VP of Sales"},
		Company:  email.Company{CompanyName: "TechNova Solutions", Industry: "SaaS", RecentNews: "opened a Berlin office"},
		CTA:      email.CTA{Ask: "Open to a 15-minute chat?", CalendarLink: "https://cal.example/alex"},
		Sender:   email.Sender{Name: "Alex"},
	}
}

func TestWrite(t *testing.T) {
	w := offline.New()
	tests := []struct {
		name        string
		prompt      email.Prompt
		wantSubject string
		wantInBody  []string
	}{
		{
			name:        "OK",
			prompt:      mustPrompt(t, newRequest(), nil),
			wantSubject: "Idea for TechNova Solutions",
			wantInBody: []string{"Hi Sarah,\n\n", "opened a Berlin office", "As VP of Sales",
				"Open to a 15-minute chat? https://cal.example/alex", "Best,\nAlex"},
		},
		{
			name:        "OKThinData",
			prompt:      mustPrompt(t, &email.Request{Prospect: email.Prospect{FirstName: "Li"}, Company: email.Company{CompanyName: "Acme"}}, nil),
			wantSubject: "Idea for Acme",
			wantInBody:  []string{"Hi Li,", "I have been following Acme.", "Worth a short chat?"},
		},
		{
			name:        "OKRepairJobRendersAgain",
			prompt:      mustPrompt(t, newRequest(), &email.Draft{Subject: "x", Body: "y"}, "too long"),
			wantSubject: "Idea for TechNova Solutions",
			wantInBody:  []string{"Hi Sarah,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := w.Write(context.Background(), tt.prompt)
			if err != nil {
				t.Fatal(err)
			}
			if d.Subject != tt.wantSubject || d.Model != offline.Model || d.Usage != (email.Usage{}) {
				t.Errorf("draft = %+v", d)
			}
			for _, s := range tt.wantInBody {
				if !strings.Contains(d.Body, s) {
					t.Errorf("body lacks %q:\n%s", s, d.Body)
				}
			}
			if strings.Contains(d.Body, "too long") || strings.Contains(d.Body, "{{") {
				t.Errorf("body leaks template or problems:\n%s", d.Body)
			}
		})
	}
}

func TestWriteDeterministic(t *testing.T) {
	w := offline.New()
	first, err := w.Write(context.Background(), mustPrompt(t, newRequest(), nil))
	if err != nil {
		t.Fatal(err)
	}
	repaired, err := w.Write(context.Background(), mustPrompt(t, newRequest(), &first, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, repaired) {
		t.Errorf("repair rendered differently:\n%+v\n%+v", first, repaired)
	}
}

func TestWriteErrors(t *testing.T) {
	t.Run("ErrNoTemplate", func(t *testing.T) {
		if _, err := offline.New().Write(context.Background(), email.Prompt{Answer: email.Answer{Emails: 1}}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ErrCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := offline.New().Write(ctx, mustPrompt(t, newRequest(), nil)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrBadOutputEmptyBody", func(t *testing.T) {
		fsys := fstest.MapFS{}
		for _, name := range []string{prompt.SystemFile, prompt.UserFile, prompt.RepairFile, prompt.RewriteFile} {
			b, err := prompts.FS.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fsys[name] = &fstest.MapFile{Data: b}
		}
		// Renders for Load's samples (which have an industry) and is empty
		// without one.
		fsys[prompt.OfflineFile] = &fstest.MapFile{Data: []byte("Subject for {{.Request.Company.CompanyName}}\n{{.Request.Company.Industry}}")}
		set, err := prompt.Load(fsys)
		if err != nil {
			t.Fatal(err)
		}
		req := newRequest()
		req.Company.Industry = ""
		p, err := set.Prompt(req, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = offline.New().Write(context.Background(), p)
		var e *email.Error
		if !errors.As(err, &e) || e.Kind != email.KindBadOutput {
			t.Fatalf("err = %v, want KindBadOutput", err)
		}
	})
}
