package config

import (
	"strings"
	"testing"
)

func TestKeyBudgets(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "API_KEY_BUDGETS" {
				return v
			}
			return ""
		}
	}
	c, err := FromEnv(env(" key_0123456789abcdef = 25.50 , * = 100 "))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KeyBudgets.Limit("key_0123456789abcdef"); got != 25_500_000 {
		t.Errorf("own budget = %d micro-dollars, want 25,500,000", got)
	}
	if got := c.KeyBudgets.Limit("key_other"); got != 100_000_000 {
		t.Errorf("budget through * = %d, want 100,000,000", got)
	}
	c, err = FromEnv(env("abc=5"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.KeyBudgets.Limit("other"); got != 0 {
		t.Errorf("a tenant without a budget and no * has %d, want 0 (none)", got)
	}
	if c, _ := FromEnv(env("")); c.KeyBudgets.Limit("x") != 0 {
		t.Error("no API_KEY_BUDGETS must mean no budget")
	}
	for value, want := range map[string]string{
		"abc":         `"abc" is not tenant=usd`,
		"=5":          `"=5" is not tenant=usd`,
		"abc=0":       "the budget of abc",
		"abc=-1":      "the budget of abc",
		"abc=ten":     "the budget of abc",
		"abc=NaN":     "the budget of abc",
		"abc=2000000": "the budget of abc",
		"abc=1,abc=2": "abc has two budgets",
	} {
		_, err := FromEnv(env(value))
		if err == nil || !strings.Contains(err.Error(), "API_KEY_BUDGETS: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("API_KEY_BUDGETS=%s: error %v, want one naming %q", value, err, want)
		}
	}
}
