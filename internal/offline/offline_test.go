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

func mustWriter(tb testing.TB) *offline.Writer {
	tb.Helper()
	set, err := prompt.Load(prompts.FS)
	if err != nil {
		tb.Fatal(err)
	}
	return offline.New(set)
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
	w := mustWriter(t)
	tests := []struct {
		name        string
		job         email.Job
		wantSubject string
		wantInBody  []string
	}{
		{
			name:        "OK",
			job:         email.Job{Request: newRequest()},
			wantSubject: "Idea for TechNova Solutions",
			wantInBody: []string{"Hi Sarah,\n\n", "opened a Berlin office", "As VP of Sales",
				"Open to a 15-minute chat? https://cal.example/alex", "Best,\nAlex"},
		},
		{
			name:        "OKThinData",
			job:         email.Job{Request: &email.Request{Prospect: email.Prospect{FirstName: "Li"}, Company: email.Company{CompanyName: "Acme"}}},
			wantSubject: "Idea for Acme",
			wantInBody:  []string{"Hi Li,", "I have been following Acme.", "Worth a short chat?"},
		},
		{
			name: "OKRepairJobRendersAgain",
			job: email.Job{Request: newRequest(), Previous: &email.Draft{Subject: "x", Body: "y"},
				Problems: []string{"too long"}},
			wantSubject: "Idea for TechNova Solutions",
			wantInBody:  []string{"Hi Sarah,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := w.Write(context.Background(), tt.job)
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
	w := mustWriter(t)
	job := email.Job{Request: newRequest()}
	first, err := w.Write(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	repaired, err := w.Write(context.Background(), email.Job{Request: newRequest(), Previous: &first, Problems: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, repaired) {
		t.Errorf("repair rendered differently:\n%+v\n%+v", first, repaired)
	}
}

func TestWriteErrors(t *testing.T) {
	t.Run("ErrNoRequest", func(t *testing.T) {
		if _, err := mustWriter(t).Write(context.Background(), email.Job{}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("ErrCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := mustWriter(t).Write(ctx, email.Job{Request: newRequest()}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrBadOutputEmptyBody", func(t *testing.T) {
		fsys := fstest.MapFS{}
		for _, name := range []string{prompt.SystemFile, prompt.UserFile, prompt.RepairFile} {
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
		_, err = offline.New(set).Write(context.Background(), email.Job{Request: req})
		var e *email.Error
		if !errors.As(err, &e) || e.Kind != email.KindBadOutput {
			t.Fatalf("err = %v, want KindBadOutput", err)
		}
	})
}
