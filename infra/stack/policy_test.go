package stack

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// operationsFile is what internal/app's tests record: every AWS call each
// function's code makes while they run against the emulators, as IAM
// actions on kinds of resources (see internal/app/iam_test.go).
const operationsFile = "../../testdata/iam/operations.json"

// permission is one action allowed on one ARN.
type permission struct{ Action, ARN string }

func (p permission) String() string { return p.Action + " on " + p.ARN }

// Each function's role grants exactly what its code was recorded calling,
// on the resources it was recorded calling it on, plus what AWS itself does
// with the role; nothing more, nothing less.
func TestPoliciesGrantWhatTheFunctionsCall(t *testing.T) {
	b, err := os.ReadFile(operationsFile)
	if err != nil {
		t.Fatal(err)
	}
	var recorded map[string][]struct{ Action, Resource string }
	if err := json.Unmarshal(b, &recorded); err != nil {
		t.Fatalf("%s: %v", operationsFile, err)
	}

	d := mustDeploy(t, "dev", map[string]string{"webhookSecret": "whsec-test"})
	table := d.mustGet(t, typeTable, "ingren-table").out("arn")
	queue := d.mustGet(t, typeQueue, "ingren-work-queue").out("arn")
	dlq := d.mustGet(t, typeQueue, "ingren-dlq").out("arn")
	var params []string
	for _, p := range d.ofType(typeParameter) {
		params = append(params, p.out("arn"))
	}
	if len(params) != 2 {
		t.Fatalf("got %d parameters, want 2", len(params))
	}
	// arns are the ARNs a recorded kind of resource stands for.
	arns := func(resource string) []string {
		switch {
		case resource == "table":
			return []string{table}
		case strings.HasPrefix(resource, "table/index/"):
			return []string{table + strings.TrimPrefix(resource, "table")}
		case resource == "queue":
			return []string{queue}
		case resource == "parameter":
			return params
		}
		t.Fatalf("%s names resource %q, which this test does not know", operationsFile, resource)
		return nil
	}

	for _, fn := range []string{"api", "worker"} {
		t.Run(fn, func(t *testing.T) {
			logGroup := d.mustGet(t, typeLogGroup, "ingren-"+fn+"-logs").out("arn")
			want := map[permission]bool{}
			if len(recorded[fn]) == 0 {
				t.Fatalf("%s records no calls of the %s function", operationsFile, fn)
			}
			for _, g := range recorded[fn] {
				for _, arn := range arns(g.Resource) {
					want[permission{g.Action, arn}] = true
				}
			}
			// What AWS does with the role, which no test of our code can
			// record. Lambda writes the function's logs into its group...
			for _, a := range []string{"logs:CreateLogStream", "logs:PutLogEvents"} {
				want[permission{a, logGroup}], want[permission{a, logGroup + ":*"}] = true, true
			}
			// ...and the worker's event source mappings poll the work
			// queue and the dead-letter queue for it.
			if fn == "worker" {
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"} {
					want[permission{a, queue}], want[permission{a, dlq}] = true, true
				}
			}

			var doc policyDocument
			raw := d.mustGet(t, typeRolePolicy, "ingren-"+fn+"-policy").str("policy")
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatalf("policy %q: %v", raw, err)
			}
			got := map[permission]bool{}
			for _, s := range doc.Statement {
				if s.Effect != "Allow" || len(s.Resource) == 0 {
					t.Errorf("statement %s: effect %s on %v, want Allow on named resources", s.Sid, s.Effect, s.Resource)
				}
				for _, a := range s.Action {
					for _, r := range s.Resource {
						got[permission{a, r}] = true
					}
				}
			}

			var diff []string
			for p := range got {
				if !want[p] {
					diff = append(diff, "granted, not needed: "+p.String())
				}
			}
			for p := range want {
				if !got[p] {
					diff = append(diff, "needed, not granted: "+p.String())
				}
			}
			sort.Strings(diff)
			if len(diff) > 0 {
				t.Errorf("the %s role differs from %s:\n  %s", fn, operationsFile, strings.Join(diff, "\n  "))
			}
		})
	}

	// The only managed policy is AWS's own for the account-wide API Gateway
	// logging role, which serves every API in the account.
	for _, a := range d.ofType(typeAttachment) {
		if a.str("policyArn") != "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs" {
			t.Errorf("%s attaches %s", a.Name, a.str("policyArn"))
		}
	}
	if got := len(d.ofType(typeRolePolicy)); got != 2 {
		t.Errorf("got %d inline policies, want one per function", got)
	}
}

// Without a webhook secret the functions can read the one parameter that
// exists, and no policy names a parameter that does not.
func TestPoliciesNameOnlyParametersThatExist(t *testing.T) {
	d := mustDeploy(t, "dev", nil)
	params := d.ofType(typeParameter)
	if len(params) != 1 {
		t.Fatalf("got %d parameters, want only the OpenAI key's", len(params))
	}
	for _, rp := range d.ofType(typeRolePolicy) {
		var doc policyDocument
		if err := json.Unmarshal([]byte(rp.str("policy")), &doc); err != nil {
			t.Fatal(err)
		}
		var named []string
		for _, s := range doc.Statement {
			if slices.Contains(s.Action, "ssm:GetParameter") {
				named = append(named, s.Resource...)
			}
		}
		if !slices.Equal(named, []string{params[0].out("arn")}) {
			t.Errorf("%s: ssm:GetParameter on %v, want only %s", rp.Name, named, params[0].out("arn"))
		}
	}
}
