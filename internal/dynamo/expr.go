package dynamo

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/ingren/ingren/internal/email"
)

// expr builds an update expression, the condition or filter expression
// that goes with it, and their attribute names and values.
type expr struct {
	set, remove, add []string
	names            map[string]string
	values           map[string]types.AttributeValue
}

func newExpr() *expr {
	return &expr{names: map[string]string{"#pk": attrPK}, values: map[string]types.AttributeValue{}}
}

// name returns the placeholder of attribute attr (no two of the table's
// attribute names differ only in their underscores).
func (e *expr) name(attr string) string {
	n := "#" + strings.ReplaceAll(attr, "_", "")
	e.names[n] = attr
	return n
}

// value returns a new placeholder of v.
func (e *expr) value(v types.AttributeValue) string {
	p := ":v" + strconv.Itoa(len(e.values))
	e.values[p] = v
	return p
}

func (e *expr) str(s string) string { return e.value(&types.AttributeValueMemberS{Value: s}) }
func (e *expr) num(n int) string    { return e.value(number(int64(n))) }

func (e *expr) setTo(attr string, v types.AttributeValue) {
	e.set = append(e.set, e.name(attr)+" = "+e.value(v))
}

// setString sets attr to s, or removes it when s is empty: records keep
// no empty strings.
func (e *expr) setString(attr, s string) {
	if s == "" {
		e.remove = append(e.remove, e.name(attr))
		return
	}
	e.setTo(attr, &types.AttributeValueMemberS{Value: s})
}

func (e *expr) removeAttrs(attrs ...string) {
	for _, a := range attrs {
		e.remove = append(e.remove, e.name(a))
	}
}

// addNonzero adds n to attr unless n is 0.
func (e *expr) addNonzero(attr string, n int64) {
	if n != 0 {
		e.add = append(e.add, e.name(attr)+" "+e.value(number(n)))
	}
}

// addUsage adds u's counters to the record's attributes of the same
// names (a campaign's, a day's).
func (e *expr) addUsage(u email.Usage) {
	for _, a := range []struct {
		attr string
		n    int64
	}{
		{"prompt_tokens", int64(u.PromptTokens)}, {"completion_tokens", int64(u.CompletionTokens)}, {"total_tokens", int64(u.TotalTokens)},
		{"batch_prompt_tokens", int64(u.BatchPromptTokens)}, {"batch_completion_tokens", int64(u.BatchCompletionTokens)},
		{"cost_micro_usd", u.CostMicroUSD}, {"unpriced", int64(u.Unpriced)},
		{"cached_prompt_tokens", int64(u.CachedPromptTokens)},
	} {
		e.addNonzero(a.attr, a.n)
	}
}

func (e *expr) update() *string {
	var parts []string
	for _, p := range []struct {
		verb string
		list []string
	}{{"SET", e.set}, {"REMOVE", e.remove}, {"ADD", e.add}} {
		if len(p.list) > 0 {
			parts = append(parts, p.verb+" "+strings.Join(p.list, ", "))
		}
	}
	return aws.String(strings.Join(parts, " "))
}

// in is the condition that attr is one of list.
func (e *expr) in(attr string, list []string) string {
	ps := make([]string, len(list))
	for i, s := range list {
		ps[i] = e.str(s)
	}
	return e.name(attr) + " IN (" + strings.Join(ps, ", ") + ")"
}

// isVersion is the condition that the record's version is v: a record
// written before versions existed has none, and is at version 1
// (resultRecord.version).
func (e *expr) isVersion(v int) string {
	c := e.name(attrVersion) + " = " + e.num(v)
	if v == 1 {
		c = "(attribute_not_exists(" + e.name(attrVersion) + ") OR " + c + ")"
	}
	return c
}

// isRound is the campaign's isVersion for its round.
func (e *expr) isRound(round int) string {
	c := e.name(attrRound) + " = " + e.num(round)
	if round == 0 {
		c = "(attribute_not_exists(" + e.name(attrRound) + ") OR " + c + ")"
	}
	return c
}

// alive is the condition that the campaign record exists and has not
// expired by the store's clock.
func (e *expr) alive(s *Store) string {
	return "attribute_exists(#pk) AND " + e.name("expires_at") + " > " + e.value(number(s.nowUnix()))
}

func strs[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

// updateOf is a transaction's update of the record at k with e, on
// condition cond ("" for none). Expression attribute names that the
// expressions do not use are an error to DynamoDB: newExpr's #pk goes
// when cond does not name it.
func (s *Store) updateOf(k map[string]types.AttributeValue, e *expr, cond string) *types.Update {
	if !strings.Contains(cond, "#pk") {
		delete(e.names, "#pk")
	}
	u := &types.Update{
		TableName:                 aws.String(s.table),
		Key:                       k,
		UpdateExpression:          e.update(),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.values,
	}
	if cond != "" {
		u.ConditionExpression = aws.String(cond)
	}
	return u
}
