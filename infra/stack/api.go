package stack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/apigateway"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// route is one path of the REST API and the methods it serves. Every route
// also gets an OPTIONS method without an API key: browsers send preflight
// requests without one, and the api function answers them. And an ANY
// method, with a key unless the route is Public, so that the api function
// answers any other method with 405 and Allow, where API Gateway would
// answer 403 as for a path that does not exist.
type route struct {
	Path    string
	Methods []string
	// Public routes take no API key: the contract and the docs page,
	// which clients and browsers read before they have one.
	Public bool
}

// routes is the whole API surface, every route of the api function's
// table but the local program's /healthz (internal/api/contract's test
// holds the two lists together). Each method requires an API key unless
// its route is Public, and is proxied to the api function, which routes
// the request itself.
var routes = []route{
	// The docs page and its files: a browser loads them without a key,
	// and the page asks for one before it tries a call.
	{Path: "/docs", Methods: []string{"GET"}, Public: true},
	{Path: "/docs/{file}", Methods: []string{"GET"}, Public: true},
	// The review console (internal/console) and its files, the same way:
	// the page asks for the key and sends it with each call.
	{Path: "/", Methods: []string{"GET"}, Public: true},
	{Path: "/console/{file}", Methods: []string{"GET"}, Public: true},
	{Path: "/api/v1/generate-email", Methods: []string{"POST"}},
	{Path: "/api/v1/lint", Methods: []string{"POST"}},
	{Path: "/api/v1/campaigns", Methods: []string{"POST", "GET"}},
	{Path: "/api/v1/campaigns/{id}", Methods: []string{"GET", "DELETE"}},
	{Path: "/api/v1/campaigns/{id}/emails", Methods: []string{"GET"}},
	{Path: "/api/v1/campaigns/{id}/emails/{index}", Methods: []string{"GET", "PATCH"}},
	{Path: "/api/v1/campaigns/{id}/emails/{index}/regenerate", Methods: []string{"POST"}},
	{Path: "/api/v1/campaigns/{id}/retry", Methods: []string{"POST"}},
	{Path: "/api/v1/usage", Methods: []string{"GET"}},
	{Path: "/openapi.json", Methods: []string{"GET"}, Public: true},
}

// accessLogFormat is one JSON object per request. apiKeyId is the tenant.
const accessLogFormat = `{"requestId":"$context.requestId","apiKeyId":"$context.identity.apiKeyId",` +
	`"ip":"$context.identity.sourceIp","requestTime":"$context.requestTime","httpMethod":"$context.httpMethod",` +
	`"resourcePath":"$context.resourcePath","status":"$context.status","responseLength":"$context.responseLength",` +
	`"latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency",` +
	`"integrationError":"$context.integrationErrorMessage"}`

// binaryMediaTypes are the request bodies API Gateway passes to the api
// function as base64 bytes rather than as UTF-8 text: the CSV campaign
// forms, whose files may be Windows-1252 or UTF-16 and would otherwise be
// mangled. JSON stays text, which keeps its larger size limit, and so do
// the docs page's HTML, JavaScript and CSS, which the api function answers
// as text (internal/docs).
var binaryMediaTypes = []string{"text/csv", "application/csv", "multipart/form-data"}

type gateway struct {
	api   *apigateway.RestApi
	stage *apigateway.Stage
	key   *apigateway.ApiKey
}

// newAPI declares the REST API in front of the api function: routes, a stage
// named after the stack with access logs, and a usage plan with one API key.
//
// Request size: API Gateway takes 10 MB, but Lambda takes at most 6 MB of
// event, so a JSON campaign tops out a little under 6 MB. A CSV campaign's
// body is one of binaryMediaTypes, which API Gateway hands over in base64
// (about 4.5 MB of file then).
func newAPI(ctx *pulumi.Context, cfg Config, prefix string, fn *function) (*gateway, error) {
	api, err := apigateway.NewRestApi(ctx, "ingren-api", &apigateway.RestApiArgs{
		Name:                   pulumi.String(prefix),
		Description:            pulumi.String("Ingren personalised email API"),
		EndpointConfiguration:  apigateway.RestApiEndpointConfigurationArgs{Types: pulumi.String("REGIONAL")},
		ApiKeySource:           pulumi.String("HEADER"),
		MinimumCompressionSize: pulumi.String("1024"), // gzip answers such as a campaign's emails
		BinaryMediaTypes:       pulumi.ToStringArray(binaryMediaTypes),
	})
	if err != nil {
		return nil, err
	}

	var deploymentDeps []pulumi.Resource
	resourceIDs := map[string]pulumi.StringOutput{"": api.RootResourceId}
	for _, r := range routes {
		parent := ""
		for _, part := range strings.Split(strings.TrimPrefix(r.Path, "/"), "/") {
			if part == "" {
				break // "/", the root resource, which the API has from the start
			}
			path := parent + "/" + part
			if _, ok := resourceIDs[path]; !ok {
				res, err := apigateway.NewResource(ctx, "ingren-path"+slug(path), &apigateway.ResourceArgs{
					RestApi:  api.ID(),
					ParentId: resourceIDs[parent],
					PathPart: pulumi.String(part),
				})
				if err != nil {
					return nil, err
				}
				resourceIDs[path] = res.ID().ToStringOutput()
			}
			parent = path
		}

		for _, verb := range append(append([]string{}, r.Methods...), "OPTIONS", "ANY") {
			name := "ingren-" + strings.ToLower(verb) + slug(r.Path)
			method, err := apigateway.NewMethod(ctx, name, &apigateway.MethodArgs{
				RestApi:        api.ID(),
				ResourceId:     resourceIDs[parent],
				HttpMethod:     pulumi.String(verb),
				Authorization:  pulumi.String("NONE"),
				ApiKeyRequired: pulumi.Bool(verb != "OPTIONS" && !r.Public),
			})
			if err != nil {
				return nil, err
			}
			integration, err := apigateway.NewIntegration(ctx, name, &apigateway.IntegrationArgs{
				RestApi:               api.ID(),
				ResourceId:            resourceIDs[parent],
				HttpMethod:            method.HttpMethod,
				Type:                  pulumi.String("AWS_PROXY"),
				IntegrationHttpMethod: pulumi.String("POST"), // Lambda is always invoked with POST
				Uri:                   fn.fn.InvokeArn,
			})
			if err != nil {
				return nil, err
			}
			deploymentDeps = append(deploymentDeps, method, integration)
		}
	}

	responses, err := gatewayResponses(cfg.CORSAllowOrigins)
	if err != nil {
		return nil, err
	}
	for _, r := range responses {
		var status pulumi.StringPtrInput
		if r.Status != "" {
			status = pulumi.StringPtr(r.Status)
		}
		res, err := apigateway.NewResponse(ctx, "ingren-response-"+strings.ToLower(strings.ReplaceAll(r.Type, "_", "-")), &apigateway.ResponseArgs{
			RestApiId:          api.ID(),
			ResponseType:       pulumi.String(r.Type),
			StatusCode:         status,
			ResponseTemplates:  pulumi.StringMap{"application/json": pulumi.String(r.Template)},
			ResponseParameters: pulumi.ToStringMap(r.Parameters),
		})
		if err != nil {
			return nil, err
		}
		deploymentDeps = append(deploymentDeps, res)
	}

	// A deployment is a snapshot: it is replaced when the routes, the
	// gateway responses or the function the routes point at change, or the
	// stage would keep serving the old ones.
	deployment, err := apigateway.NewDeployment(ctx, "ingren-deployment", &apigateway.DeploymentArgs{
		RestApi: api.ID(),
		Triggers: pulumi.StringMap{
			"redeployment": fn.fn.InvokeArn.ApplyT(func(uri string) (string, error) {
				return redeploymentHash(routes, responses, uri)
			}).(pulumi.StringOutput),
		},
	}, pulumi.DependsOn(deploymentDeps))
	if err != nil {
		return nil, err
	}

	accessLogs, err := cloudwatch.NewLogGroup(ctx, "ingren-api-access-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ingren/" + ctx.Stack() + "/api-access"),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
	})
	if err != nil {
		return nil, err
	}
	stageDeps := []pulumi.Resource{accessLogs}
	if cfg.ManageAPIGatewayAccount {
		account, err := newAPIGatewayAccount(ctx)
		if err != nil {
			return nil, err
		}
		stageDeps = append(stageDeps, account) // access logs fail until the role is set
	}
	stage, err := apigateway.NewStage(ctx, "ingren-stage", &apigateway.StageArgs{
		RestApi:    api.ID(),
		Deployment: deployment.ID(),
		StageName:  pulumi.String(ctx.Stack()),
		AccessLogSettings: apigateway.StageAccessLogSettingsArgs{
			DestinationArn: accessLogs.Arn,
			Format:         pulumi.String(accessLogFormat),
		},
	}, pulumi.DependsOn(stageDeps))
	if err != nil {
		return nil, err
	}

	_, err = lambda.NewPermission(ctx, "ingren-api-invoke", &lambda.PermissionArgs{
		Action:    pulumi.String("lambda:InvokeFunction"),
		Function:  fn.fn.Name,
		Principal: pulumi.String("apigateway.amazonaws.com"),
		SourceArn: pulumi.Sprintf("%s/%s/*/*", api.ExecutionArn, ctx.Stack()),
	})
	if err != nil {
		return nil, err
	}

	key, err := newUsagePlan(ctx, cfg, prefix, api, stage)
	if err != nil {
		return nil, err
	}
	return &gateway{api: api, stage: stage, key: key}, nil
}

// newUsagePlan throttles and meters every key on the stage, and declares the
// first key. More keys are added outside Pulumi: see DEPLOYMENT.md.
func newUsagePlan(ctx *pulumi.Context, cfg Config, prefix string, api *apigateway.RestApi, stage *apigateway.Stage) (*apigateway.ApiKey, error) {
	plan, err := apigateway.NewUsagePlan(ctx, "ingren-usage-plan", &apigateway.UsagePlanArgs{
		Name: pulumi.String(prefix),
		ApiStages: apigateway.UsagePlanApiStageArray{
			apigateway.UsagePlanApiStageArgs{ApiId: api.ID(), Stage: stage.StageName},
		},
		ThrottleSettings: apigateway.UsagePlanThrottleSettingsArgs{
			RateLimit:  pulumi.Float64(cfg.ThrottleRateLimit),
			BurstLimit: pulumi.Int(cfg.ThrottleBurstLimit),
		},
		QuotaSettings: apigateway.UsagePlanQuotaSettingsArgs{
			Limit:  pulumi.Int(cfg.QuotaLimit),
			Period: pulumi.String(cfg.QuotaPeriod),
		},
	})
	if err != nil {
		return nil, err
	}
	key, err := apigateway.NewApiKey(ctx, "ingren-api-key", &apigateway.ApiKeyArgs{
		Name:        pulumi.String(prefix + "-default"),
		Description: pulumi.String("First Ingren API key, created by Pulumi"),
		Enabled:     pulumi.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	_, err = apigateway.NewUsagePlanKey(ctx, "ingren-usage-plan-key", &apigateway.UsagePlanKeyArgs{
		KeyId:       key.ID(),
		KeyType:     pulumi.String("API_KEY"),
		UsagePlanId: plan.ID(),
	})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// newAPIGatewayAccount sets the role API Gateway uses to write access logs.
// The setting is account-wide per region: it serves every REST API there.
func newAPIGatewayAccount(ctx *pulumi.Context) (*apigateway.Account, error) {
	assume, err := jsonString(assumeRolePolicy("apigateway.amazonaws.com"))
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, "ingren-apigateway-cloudwatch-role", &iam.RoleArgs{
		Description:      pulumi.String("API Gateway writes access logs (account-wide setting)"),
		AssumeRolePolicy: pulumi.String(assume),
	})
	if err != nil {
		return nil, err
	}
	// AWS's own policy: the role serves every API in the account, so it is not
	// scoped to this stack's log group.
	attachment, err := iam.NewRolePolicyAttachment(ctx, "ingren-apigateway-cloudwatch-policy", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
	})
	if err != nil {
		return nil, err
	}
	return apigateway.NewAccount(ctx, "ingren-apigateway-account", &apigateway.AccountArgs{
		CloudwatchRoleArn: role.Arn,
	}, pulumi.DependsOn([]pulumi.Resource{attachment}))
}

// redeploymentHash changes whenever the routes, the gateway responses or
// the function the routes invoke do.
func redeploymentHash(rs []route, responses []gatewayResponse, invokeARN string) (string, error) {
	b, err := json.Marshal(struct {
		Routes    []route
		Responses []gatewayResponse
		InvokeARN string
	}{rs, responses, invokeARN})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// slug turns /api/v1/campaigns/{id} into -api-v1-campaigns-id for logical names.
func slug(path string) string {
	if path == "/" {
		return "-root"
	}
	r := strings.NewReplacer("/", "-", "{", "", "}", "")
	return r.Replace(path)
}
