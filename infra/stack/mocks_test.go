package stack

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// testOpenAIKey is easy to search for in every resource's inputs.
const testOpenAIKey = "sk-test-RECOGNISABLE-openai-4f1c2e9a"

const (
	account = "123456789012"
	region  = "us-east-1"
)

// recorded is one resource the program declared, as the engine saw it.
type recorded struct {
	Type   string
	Name   string // logical name
	ID     string
	Inputs resource.PropertyMap
	State  resource.PropertyMap // inputs plus what AWS would compute
	Deps   []string             // URNs this resource depends on
}

// in returns input key as plain Go values (secrets unwrapped).
func (r recorded) in(key string) any { return plain(r.Inputs[resource.PropertyKey(key)]) }

// str returns input key as a string, "" when absent.
func (r recorded) str(key string) string { s, _ := r.in(key).(string); return s }

// out returns computed state key as a string.
func (r recorded) out(key string) string {
	s, _ := plain(r.State[resource.PropertyKey(key)]).(string)
	return s
}

// dependsOn reports whether r depends on the resource with logical name name.
func (r recorded) dependsOn(name string) bool {
	return slices.ContainsFunc(r.Deps, func(urn string) bool { return strings.HasSuffix(urn, "::"+name) })
}

// mocks records every resource and answers with ARNs, URLs and ids shaped
// like AWS's, so the tests can tell which resource a policy or env var names.
type mocks struct {
	mu        sync.Mutex
	resources []recorded
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id := args.Name + "-id"
	state := args.Inputs.Copy()
	name := args.Name + "-physical"
	if v, ok := args.Inputs["name"]; ok && v.IsString() {
		name = v.StringValue()
	}
	set := func(key, value string) { state[resource.PropertyKey(key)] = resource.NewStringProperty(value) }
	set("name", name)
	switch args.TypeToken {
	case "aws:dynamodb/table:Table":
		set("arn", fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", region, account, name))
	case "aws:sqs/queue:Queue":
		set("arn", fmt.Sprintf("arn:aws:sqs:%s:%s:%s", region, account, name))
		set("url", fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, account, name))
	case "aws:ssm/parameter:Parameter":
		set("arn", fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", region, account, name))
	case "aws:cloudwatch/logGroup:LogGroup":
		set("arn", fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, name))
	case "aws:iam/role:Role":
		set("arn", fmt.Sprintf("arn:aws:iam::%s:role/%s", account, name))
	case "aws:lambda/function:Function":
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, account, name)
		set("arn", arn)
		set("invokeArn", fmt.Sprintf("arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations", region, arn))
	case "aws:apigateway/restApi:RestApi":
		set("rootResourceId", "root-resource-id")
		set("executionArn", fmt.Sprintf("arn:aws:execute-api:%s:%s:%s", region, account, id))
	case "aws:apigateway/stage:Stage":
		set("invokeUrl", fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com/%s",
			plain(args.Inputs["restApi"]), region, plain(args.Inputs["stageName"])))
	case "aws:apigateway/apiKey:ApiKey":
		set("value", "mock-api-key-value")
	case "aws:sns/topic:Topic":
		set("arn", fmt.Sprintf("arn:aws:sns:%s:%s:%s", region, account, name))
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	m.resources = append(m.resources, recorded{
		Type: args.TypeToken, Name: args.Name, ID: id,
		Inputs: args.Inputs, State: state, Deps: args.RegisterRPC.GetDependencies(),
	})
	return id, state, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	if args.Token == "aws:index/getRegion:getRegion" {
		return resource.PropertyMap{"name": resource.NewStringProperty(region), "id": resource.NewStringProperty(region)}, nil
	}
	return resource.PropertyMap{}, nil
}

// deployment is what one mocked `pulumi up` declared and exported.
type deployment struct {
	resources []recorded
	outputs   map[string]internals.UnsafeAwaitOutputResult
}

// ofType returns the resources of type token t, e.g. aws:sqs/queue:Queue.
func (d *deployment) ofType(t string) []recorded {
	var rs []recorded
	for _, r := range d.resources {
		if r.Type == t {
			rs = append(rs, r)
		}
	}
	return rs
}

// mustGet returns the resource of type t with logical name name.
func (d *deployment) mustGet(tb testing.TB, t, name string) recorded {
	tb.Helper()
	for _, r := range d.ofType(t) {
		if r.Name == name {
			return r
		}
	}
	tb.Fatalf("no %s named %s", t, name)
	return recorded{}
}

// mustDeploy runs the program against mocks as stack stackName with config
// (keys without the ingren: namespace; openaiApiKey and webhookSecret are
// marked secret). A nil config means just the test OpenAI key.
func mustDeploy(tb testing.TB, stackName string, config map[string]string) *deployment {
	tb.Helper()
	d, err := deploy(stackName, config)
	if err != nil {
		tb.Fatalf("deploy: %v", err)
	}
	return d
}

func deploy(stackName string, config map[string]string) (*deployment, error) {
	if config == nil {
		config = map[string]string{}
	}
	if _, ok := config["openaiApiKey"]; !ok {
		config["openaiApiKey"] = testOpenAIKey
	}
	m := &mocks{}
	d := &deployment{outputs: map[string]internals.UnsafeAwaitOutputResult{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		cfg, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		outs, err := New(ctx, cfg)
		if err != nil {
			return err
		}
		for name, o := range outs.Map() {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			d.outputs[name] = res
		}
		return nil
	}, pulumi.WithMocks("ingren", stackName, m), withConfig(config))
	m.mu.Lock()
	defer m.mu.Unlock()
	d.resources = m.resources
	return d, err
}

func withConfig(config map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = map[string]string{}
		info.ConfigSecretKeys = nil
		for k, v := range config {
			info.Config[Namespace+":"+k] = v
			if k == "openaiApiKey" || k == "webhookSecret" {
				info.ConfigSecretKeys = append(info.ConfigSecretKeys, Namespace+":"+k)
			}
		}
	}
}

// plain turns a property into plain Go values: string, float64, bool, []any,
// map[string]any; secrets and outputs are unwrapped, archives become their path.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		return plain(v.OutputValue().Element)
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	case v.IsArray():
		var a []any
		for _, e := range v.ArrayValue() {
			a = append(a, plain(e))
		}
		return a
	case v.IsObject():
		o := map[string]any{}
		for k, e := range v.ObjectValue() {
			o[string(k)] = plain(e)
		}
		return o
	case v.IsArchive():
		return v.ArchiveValue().Path
	}
	return nil
}

// path reads a nested value such as ("environment", "variables", "TABLE_NAME").
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
