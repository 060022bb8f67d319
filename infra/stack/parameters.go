package stack

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// parameters are the SSM SecureString parameters holding the stack's secrets.
// The functions get their names, never their values, and read them at cold
// start. webhook is nil when no webhook secret is configured.
type parameters struct {
	openAIKey *ssm.Parameter
	webhook   *ssm.Parameter
}

// arns returns the ARNs of the parameters that exist.
func (p *parameters) arns() []pulumi.StringOutput {
	arns := []pulumi.StringOutput{p.openAIKey.Arn}
	if p.webhook != nil {
		arns = append(arns, p.webhook.Arn)
	}
	return arns
}

func newParameters(ctx *pulumi.Context, cfg Config, path string) (*parameters, error) {
	var p parameters
	var err error
	p.openAIKey, err = ssm.NewParameter(ctx, "ingren-openai-api-key", &ssm.ParameterArgs{
		Name:        pulumi.String(path + "/openai-api-key"),
		Description: pulumi.String("OpenAI API key read by the Ingren functions"),
		Type:        pulumi.String("SecureString"),
		Value:       cfg.OpenAIAPIKey.Output(),
	})
	if err != nil {
		return nil, err
	}
	if cfg.WebhookSecret == "" {
		return &p, nil
	}
	p.webhook, err = ssm.NewParameter(ctx, "ingren-webhook-secret", &ssm.ParameterArgs{
		Name:        pulumi.String(path + "/webhook-secret"),
		Description: pulumi.String("Key that signs Ingren's webhook callbacks"),
		Type:        pulumi.String("SecureString"),
		Value:       cfg.WebhookSecret.Output(),
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}
