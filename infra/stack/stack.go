// Package stack declares Ingren's AWS resources: the DynamoDB table, the work
// queue and its dead-letter queue, the api and worker Lambda functions, the
// API Gateway REST API with its usage plan, and the logs, alarms and dashboard
// around them.
package stack

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Outputs are the values a deployer needs; main exports each under its Map key.
type Outputs struct {
	// APIURL is the stage's invoke URL, e.g. https://abc.execute-api.us-east-1.amazonaws.com/dev.
	APIURL                pulumi.StringOutput
	GenerateEmailEndpoint pulumi.StringOutput
	CampaignsEndpoint     pulumi.StringOutput
	// APIKeyID is the first API key's id: the tenant id of what it creates.
	APIKeyID pulumi.StringOutput
	// APIKeyValue is the first API key; a secret.
	APIKeyValue pulumi.StringOutput
	TableName   pulumi.StringOutput
	QueueURL    pulumi.StringOutput
	DLQURL      pulumi.StringOutput
}

// Map returns the outputs by their stack output names. api_key_value keeps the
// name the Python deployment exported.
func (o *Outputs) Map() map[string]pulumi.StringOutput {
	return map[string]pulumi.StringOutput{
		"api_url":                 o.APIURL,
		"generate_email_endpoint": o.GenerateEmailEndpoint,
		"campaigns_endpoint":      o.CampaignsEndpoint,
		"api_key_id":              o.APIKeyID,
		"api_key_value":           o.APIKeyValue,
		"table_name":              o.TableName,
		"queue_url":               o.QueueURL,
		"dlq_url":                 o.DLQURL,
	}
}

// New declares every resource of one stack from cfg, which must have passed
// Validate.
func New(ctx *pulumi.Context, cfg Config) (*Outputs, error) {
	prefix := "ingren-" + ctx.Stack()

	tbl, err := newTable(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("table: %w", err)
	}
	q, err := newQueues(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	params, err := newParameters(ctx, cfg, "/ingren/"+ctx.Stack())
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	env := environment(cfg, tbl, q, params)

	api, err := newFunction(ctx, cfg, functionSpec{
		name:       "api",
		zip:        cfg.APIZip,
		memoryMB:   cfg.APIMemoryMB,
		timeoutSec: cfg.APITimeoutSeconds,
		policy:     apiPolicy,
	}, tbl, q, params, env)
	if err != nil {
		return nil, fmt.Errorf("api function: %w", err)
	}
	worker, err := newFunction(ctx, cfg, functionSpec{
		name:       "worker",
		zip:        cfg.WorkerZip,
		memoryMB:   cfg.WorkerMemoryMB,
		timeoutSec: cfg.WorkerTimeoutSeconds,
		policy:     workerPolicy,
	}, tbl, q, params, workerEnvironment(env, q))
	if err != nil {
		return nil, fmt.Errorf("worker function: %w", err)
	}
	if err := newWorkerTriggers(ctx, cfg, q, worker); err != nil {
		return nil, fmt.Errorf("worker triggers: %w", err)
	}

	gw, err := newAPI(ctx, cfg, prefix, api)
	if err != nil {
		return nil, fmt.Errorf("api gateway: %w", err)
	}
	if err := newAlarms(ctx, cfg, prefix, q, worker, gw); err != nil {
		return nil, fmt.Errorf("alarms: %w", err)
	}
	if _, err := newDashboard(ctx, prefix); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}

	return &Outputs{
		APIURL:                gw.stage.InvokeUrl,
		GenerateEmailEndpoint: pulumi.Sprintf("%s/api/v1/generate-email", gw.stage.InvokeUrl),
		CampaignsEndpoint:     pulumi.Sprintf("%s/api/v1/campaigns", gw.stage.InvokeUrl),
		APIKeyID:              gw.key.ID().ToStringOutput(),
		APIKeyValue:           pulumi.ToSecret(gw.key.Value).(pulumi.StringOutput),
		TableName:             tbl.Name,
		QueueURL:              q.work.Url,
		DLQURL:                q.dead.Url,
	}, nil
}
