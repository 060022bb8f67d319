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
	p.openAIKey, err = newSecureParameter(ctx, path, "openai-api-key", "OpenAI API key read by the Ingren functions", cfg.OpenAIAPIKey)
	if err != nil {
		return nil, err
	}
	if cfg.WebhookSecret != "" {
		p.webhook, err = newSecureParameter(ctx, path, "webhook-secret", "Key that signs Ingren's webhook callbacks", cfg.WebhookSecret)
		if err != nil {
			return nil, err
		}
	}
	return &p, nil
}

// newSecureParameter declares the SecureString parameter path/name, the
// resource ingren-name.
func newSecureParameter(ctx *pulumi.Context, path, name, description string, value Secret) (*ssm.Parameter, error) {
	return ssm.NewParameter(ctx, "ingren-"+name, &ssm.ParameterArgs{
		Name:        pulumi.String(path + "/" + name),
		Description: pulumi.String(description),
		Type:        pulumi.String("SecureString"),
		Value:       value.Output(),
	})
}
