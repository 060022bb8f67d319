// Package mcp is Ingren's Model Context Protocol server: the tools an AI
// agent (Claude, Cursor, ChatGPT) calls to write, check and campaign
// emails. It is a client of a running Ingren, local or on AWS, through
// internal/client: every tool is one API call, so the API stays the one
// place that validates, bills and stores.
//
// Words: a tool's input is the JSON body of the API call it makes
// (create_campaign's adds a CSV file's path and the submit's settings), and its
// input schema is inferred from the very types the API decodes that body
// into (email.Request, email.LintRequest, campaign.Submission), with what
// inference cannot see added in schema.go. A tool error is a result with
// IsError set carrying the API's message and field errors; the protocol's
// own errors are left to the SDK.
package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ingren/ingren/internal/client"
)

// instructions tell the agent, once per session, how the tools fit
// together.
const instructions = `Ingren writes personalized cold sales emails and checks them.
generate_email writes one email; create_campaign writes one per prospect in the background
(then poll get_campaign and read list_campaign_emails). Both call a paid language model.
lint_email checks an email written elsewhere and is free; get_usage says what the key spent and
what its budget has left. An email with needs_review true
has an error-level finding (an invented number, a placeholder...) and must not be sent as it is.`

// NewServer returns the MCP server whose tools call the API through c.
func NewServer(c *client.Client) *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "ingren", Title: "Ingren", Version: version()},
		&sdk.ServerOptions{Instructions: instructions})
	t := &tools{api: c}
	t.addEmail(s)
	t.addCampaigns(s)
	t.addUsage(s)
	return s
}

// Serve runs the server for c on one client, reading its messages from in
// and writing answers to out (ingren mcp's standard input and output),
// until the client closes in or ctx ends.
func Serve(ctx context.Context, c *client.Client, in io.Reader, out io.Writer) error {
	err := NewServer(c).Run(ctx, &sdk.IOTransport{Reader: io.NopCloser(in), Writer: nopWriteCloser{out}})
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		// The client hung up, or the user stopped the server: both end
		// a stdio server's life as designed.
		return nil
	}
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// tools are the tools' handlers, with the API they call.
type tools struct {
	api *client.Client
}

// toolError turns an API call's error into the text of a tool error: the
// API's code and message, each invalid field on its own line as the API
// names it ("prospect.first_name is required"), and, when the cause is this
// server's configuration rather than the agent's input, what the user must
// fix.
func (t *tools) toolError(err error) error {
	var e *client.Error
	if errors.As(err, &e) {
		var b strings.Builder
		if e.Code != "" {
			b.WriteString(e.Code + ": ")
		}
		b.WriteString(e.Error())
		for _, f := range e.Fields {
			fmt.Fprintf(&b, "\n%s %s", f.Field, f.Message)
		}
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
			b.WriteString("\nThe Ingren MCP server's API key (INGREN_API_KEY) is wrong or missing: ask the user to fix its configuration.")
		}
		return errors.New(b.String())
	}
	// A request that got no answer at all: http.Client's errors are
	// *url.Error.
	var ue *url.Error
	if errors.As(err, &ue) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("%v\nIngren does not answer at %s (INGREN_URL): is it running?", err, t.api.BaseURL)
	}
	return err
}

// version is the ingren module's version as go build recorded it.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
