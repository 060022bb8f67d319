package cli

import (
	"context"
	"fmt"

	"github.com/ingren/ingren/internal/mcp"
)

const mcpAbout = `Serves Ingren to an AI agent (Claude, Cursor, ChatGPT...) over the Model Context Protocol,
on the standard input and output: an MCP client starts it and talks to it; a person does not.
Its tools call the API at INGREN_URL with INGREN_API_KEY, as the other commands do:
generate_email and create_campaign (they call a paid model), lint_email (free),
get_campaign and list_campaign_emails. create_campaign's csv_path reads a CSV file on this
machine. README.md, MCP, shows the configuration that adds it to an MCP client.`

func mcpCmd(ctx context.Context, args []string, env Env) int {
	fs := command(env, "mcp", "", mcpAbout)
	_, c, code := start(env, fs, args, 0)
	if code >= 0 {
		return code
	}
	if env.Stdin == nil {
		return fail(env, fmt.Errorf("no standard input to read the MCP client's messages from"))
	}
	if err := mcp.Serve(ctx, c, env.Stdin, env.Stdout); err != nil {
		return fail(env, fmt.Errorf("mcp: %w", err))
	}
	return ExitOK
}
