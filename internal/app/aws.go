package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"

	"github.com/ingren/ingren/internal/api"
	"github.com/ingren/ingren/internal/apigw"
	"github.com/ingren/ingren/internal/campaign"
	"github.com/ingren/ingren/internal/config"
	"github.com/ingren/ingren/internal/dynamo"
	"github.com/ingren/ingren/internal/email"
	"github.com/ingren/ingren/internal/metrics"
	"github.com/ingren/ingren/internal/price"
	"github.com/ingren/ingren/internal/sqsevent"
	"github.com/ingren/ingren/internal/sqsqueue"
	"github.com/ingren/ingren/internal/webhook"
)

// sdkLogger sends the AWS SDK's own log lines (a few warnings, such as a
// response body it could not drain before a retry) to the program's JSON
// log, where CloudWatch Logs Insights can read them, instead of plain text
// on stderr. Without ClientLogMode the SDK logs no requests or payloads.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelDebug
	if c == logging.Warn {
		level = slog.LevelWarn
	}
	l.log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
}

// lambdaMaxListBytes bounds an answer listing a campaign's emails on the API
// Lambda. Lambda refuses a response over 6 MB, counted as the JSON event
// it returns, where the body is a string and escaping can add a third.
var lambdaMaxListBytes = 4 << 20

// sdkMiddleware, when set, returns middleware for the SDK clients of the
// named Lambda ("api" or "worker") configured by cfg. Only tests set it: they
// record every AWS operation each Lambda makes, which is what infra's IAM
// policies must grant (testdata/iam/operations.json).
var sdkMiddleware func(lambda string, cfg config.Config) []func(*middleware.Stack) error

// Option changes what NewAPILambda and NewWorkerLambda build.
type Option func(*options)

type options struct{ metrics io.Writer }

// WithMetrics has the Lambda write its metrics to w as CloudWatch Embedded
// Metric Format lines (metrics.EMF). The mains pass os.Stdout, which Lambda
// sends to the function's log group, where CloudWatch reads the metrics
// out; without it the Lambda writes none.
func WithMetrics(w io.Writer) Option { return func(o *options) { o.metrics = w } }

// lambdaParts are what both Lambdas build at cold start.
type lambdaParts struct {
	cfg      config.Config
	log      *slog.Logger
	store    *dynamo.Store
	queue    *sqsqueue.Queue
	composer *email.Composer
	prices   *price.Table
	// metrics is told of every email, model call and repair round; nil
	// for none.
	metrics metrics.Sink
}

func newLambdaParts(ctx context.Context, lambda string, getenv func(string) string, with []Option) (*lambdaParts, error) {
	var o options
	for _, opt := range with {
		opt(&o)
	}
	cfg, err := config.FromEnv(getenv)
	var missing []error
	if cfg.TableName == "" {
		missing = append(missing, errors.New("TABLE_NAME is required"))
	}
	if cfg.QueueURL == "" {
		missing = append(missing, errors.New("QUEUE_URL is required"))
	}
	if err := errors.Join(append([]error{err}, missing...)...); err != nil {
		return nil, fmt.Errorf("configuration:\n%w", err)
	}
	log := Logger(os.Stderr, cfg.LogLevel)
	// Endpoints come from the SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB,
	// AWS_ENDPOINT_URL_SQS), which is how tests point a binary at emulators.
	// The default client keeps 10 idle connections per host; a 10,000-email
	// submit writes with 16 requests in flight.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 128, 64
	})
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithHTTPClient(httpClient), awsconfig.WithLogger(sdkLogger{log})}
	if sdkMiddleware != nil {
		opts = append(opts, awsconfig.WithAPIOptions(sdkMiddleware(lambda, cfg)))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	if err := readSecrets(ctx, ssm.NewFromConfig(awsCfg), &cfg); err != nil {
		return nil, err
	}
	var sink metrics.Sink // a nil interface, not a nil *EMF, when not asked for
	if o.metrics != nil {
		sink = metrics.NewEMF(o.metrics, nil)
	}
	composer, err := Composer(cfg, log, sink)
	if err != nil {
		return nil, err
	}
	prices, err := Prices(cfg)
	if err != nil {
		return nil, err
	}
	return &lambdaParts{
		cfg:      cfg,
		log:      log,
		store:    dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, cfg.CampaignTTL),
		queue:    sqsqueue.New(sqs.NewFromConfig(awsCfg), cfg.QueueURL),
		composer: composer,
		prices:   prices,
		metrics:  sink,
	}, nil
}

// readSecrets fills the OpenAI key and webhook secret from SSM
// SecureString parameters, so they never sit in a function's environment.
func readSecrets(ctx context.Context, c *ssm.Client, cfg *config.Config) error {
	for _, s := range []struct {
		param string
		dst   *string
	}{{cfg.OpenAIAPIKeyParam, &cfg.OpenAIAPIKey}, {cfg.WebhookSecretParam, &cfg.WebhookSecret}} {
		if s.param == "" {
			continue
		}
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.param), WithDecryption: aws.Bool(true)})
		if err != nil {
			return fmt.Errorf("read parameter %s: %w", s.param, err)
		}
		*s.dst = aws.ToString(out.Parameter.Value)
	}
	return nil
}

// NewAPILambda builds the API Lambda's handler.
func NewAPILambda(ctx context.Context, getenv func(string) string, opts ...Option) (func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error), error) {
	p, err := newLambdaParts(ctx, "api", getenv, opts)
	if err != nil {
		return nil, err
	}
	svc := &campaign.Service{Store: p.store, Queue: p.queue, Composer: p.composer, Checker: p.composer, Prices: p.prices,
		MaxProspects: p.cfg.MaxCampaignProspects, TTL: p.cfg.CampaignTTL, AllowedModels: p.cfg.Models(),
		KeyBudgets: keyBudgets(p.cfg), Observer: p.metrics}
	h := api.NewServer(api.Config{CORSAllowOrigins: p.cfg.CORSAllowOrigins, EmailTimeout: p.cfg.OpenAITimeout, MaxListBytes: lambdaMaxListBytes, Prices: p.prices,
		Meter: newMeter(p.cfg, p.store, p.composer, p.prices, p.metrics, p.log)}, apigw.Auth{}, p.composer, svc, p.log)
	return apigw.Handler(h), nil
}

// NewWorkerLambda builds the worker Lambda's handler. Notify messages
// (webhook calls) go through the work queue, and each invocation works
// them apart from its model work; records from DEAD_LETTER_QUEUE_ARN are
// settled as dead letters.
func NewWorkerLambda(ctx context.Context, getenv func(string) string, opts ...Option) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	p, err := newLambdaParts(ctx, "worker", getenv, opts)
	if err != nil {
		return nil, err
	}
	w := &campaign.Worker{
		Store: p.store, Queue: p.queue, Composer: p.composer, Prices: p.prices,
		KeyBudgets: keyBudgets(p.cfg), Model: p.cfg.OpenAIModel,
		Notifier:    webhook.New(webhook.Options{Secret: p.cfg.WebhookSecret, AllowPrivate: p.cfg.WebhookAllowPrivate}),
		Concurrency: p.cfg.WorkerConcurrency, MaxReceive: p.cfg.MaxReceiveCount, RetryDelay: p.cfg.RetryDelay, Log: p.log,
		Batches: BatchesOf(p.composer), BatchPollInterval: p.cfg.BatchPollInterval,
		Observer: p.metrics,
	}
	return sqsevent.Handler(w, p.cfg.DeadLetterQueueARN), nil
}
