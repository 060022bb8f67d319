package testenv_test

// These tests pin down what the app relies on from DynamoDB Local and
// fauxqs, through the same SDK calls the app makes. A failure here after an
// emulator upgrade means the emulator changed, not the app.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	stypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ingren/ingren/internal/testenv"
)

func s(v string) *dtypes.AttributeValueMemberS { return &dtypes.AttributeValueMemberS{Value: v} }

func key(pk, sk string) map[string]dtypes.AttributeValue {
	return map[string]dtypes.AttributeValue{testenv.TableHashKey: s(pk), testenv.TableRangeKey: s(sk)}
}

func mustPut(t *testing.T, c *dynamodb.Client, table string, item map[string]dtypes.AttributeValue) {
	t.Helper()
	if _, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("put item: %v", err)
	}
}

func TestDynamoDB(t *testing.T) {
	t.Parallel()
	c := testenv.DynamoDB(t)

	t.Run("PutGetItem", func(t *testing.T) {
		t.Parallel()
		table := testenv.CreateTable(t, c)
		item := key("campaign#1", "prospect#1")
		item["name"] = s("Ada")
		mustPut(t, c, table, item)

		out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
			TableName:      aws.String(table),
			Key:            key("campaign#1", "prospect#1"),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("get item: %v", err)
		}
		if got, ok := out.Item["name"].(*dtypes.AttributeValueMemberS); !ok || got.Value != "Ada" {
			t.Errorf("name = %#v, want Ada", out.Item["name"])
		}
	})

	t.Run("TransactWriteItemsConditionalCheckFailed", func(t *testing.T) {
		t.Parallel()
		table := testenv.CreateTable(t, c)
		existing := key("p", "existing")
		existing["v"] = s("1")
		mustPut(t, c, table, existing)

		notExists := aws.String("attribute_not_exists(" + testenv.TableHashKey + ")")
		_, err := c.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{
			TransactItems: []dtypes.TransactWriteItem{
				{Put: &dtypes.Put{TableName: aws.String(table), Item: key("p", "new"), ConditionExpression: notExists}},
				{Put: &dtypes.Put{
					TableName:                           aws.String(table),
					Item:                                key("p", "existing"),
					ConditionExpression:                 notExists,
					ReturnValuesOnConditionCheckFailure: dtypes.ReturnValuesOnConditionCheckFailureAllOld,
				}},
			},
		})
		var canceled *dtypes.TransactionCanceledException
		if !errors.As(err, &canceled) {
			t.Fatalf("err = %v (%T), want *types.TransactionCanceledException", err, err)
		}
		var codes []string
		for _, r := range canceled.CancellationReasons {
			codes = append(codes, aws.ToString(r.Code))
		}
		if want := []string{"None", "ConditionalCheckFailed"}; !slices.Equal(codes, want) {
			t.Fatalf("cancellation reasons = %q, want %q", codes, want)
		}
		if old, ok := canceled.CancellationReasons[1].Item["v"].(*dtypes.AttributeValueMemberS); !ok || old.Value != "1" {
			t.Errorf("reason item v = %#v, want the old item's 1", canceled.CancellationReasons[1].Item["v"])
		}

		out, err := c.GetItem(t.Context(), &dynamodb.GetItemInput{
			TableName: aws.String(table), Key: key("p", "new"), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			t.Fatalf("get item: %v", err)
		}
		if out.Item != nil {
			t.Errorf("item p/new = %v, want none: the transaction must write nothing", out.Item)
		}
	})

	t.Run("QueryPaged", func(t *testing.T) {
		t.Parallel()
		table := testenv.CreateTable(t, c)
		const n = 25 // BatchWriteItem's limit
		var want []string
		var writes []dtypes.WriteRequest
		for i := range n {
			sk := fmt.Sprintf("item#%02d", i)
			want = append(want, sk)
			writes = append(writes, dtypes.WriteRequest{PutRequest: &dtypes.PutRequest{Item: key("p", sk)}})
		}
		// One more partition, which the query must not return.
		writes[n-1] = dtypes.WriteRequest{PutRequest: &dtypes.PutRequest{Item: key("other", "item#00")}}
		want = want[:n-1]
		pending := map[string][]dtypes.WriteRequest{table: writes}
		for len(pending) > 0 {
			out, err := c.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				t.Fatalf("batch write: %v", err)
			}
			pending = out.UnprocessedItems
		}

		pages := dynamodb.NewQueryPaginator(c, &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": testenv.TableHashKey},
			ExpressionAttributeValues: map[string]dtypes.AttributeValue{":pk": s("p")},
			Limit:                     aws.Int32(10),
		})
		var got []string
		var sizes []int
		for pages.HasMorePages() {
			page, err := pages.NextPage(t.Context())
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			sizes = append(sizes, len(page.Items))
			for _, item := range page.Items {
				got = append(got, item[testenv.TableRangeKey].(*dtypes.AttributeValueMemberS).Value)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("sort keys = %q, want %q", got, want)
		}
		if want := []int{10, 10, 4}; !slices.Equal(sizes, want) {
			t.Errorf("page sizes = %v, want %v", sizes, want)
		}
	})

	t.Run("QueryGSI1ProjectsAll", func(t *testing.T) {
		t.Parallel()
		table := testenv.CreateTable(t, c)
		item := key("prospect#1", "profile")
		item[testenv.GSI1HashKey] = s("email#ada@example.com")
		item[testenv.GSI1RangeKey] = s("prospect#1")
		item["name"] = s("Ada")
		mustPut(t, c, table, item)
		mustPut(t, c, table, key("prospect#2", "profile")) // not in the sparse index

		out, err := c.Query(t.Context(), &dynamodb.QueryInput{
			TableName:                 aws.String(table),
			IndexName:                 aws.String(testenv.GSI1Name),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": testenv.GSI1HashKey},
			ExpressionAttributeValues: map[string]dtypes.AttributeValue{":pk": s("email#ada@example.com")},
		})
		if err != nil {
			t.Fatalf("query gsi1: %v", err)
		}
		if len(out.Items) != 1 {
			t.Fatalf("got %d items, want 1", len(out.Items))
		}
		if got, ok := out.Items[0]["name"].(*dtypes.AttributeValueMemberS); !ok || got.Value != "Ada" {
			t.Errorf("name = %#v, want Ada (projection ALL)", out.Items[0]["name"])
		}
	})

	t.Run("TTLEnabled", func(t *testing.T) {
		t.Parallel()
		table := testenv.CreateTable(t, c)
		out, err := c.DescribeTimeToLive(t.Context(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatalf("describe ttl: %v", err)
		}
		d := out.TimeToLiveDescription
		if d.TimeToLiveStatus != dtypes.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != testenv.TTLAttribute {
			t.Errorf("ttl = %s on %q, want ENABLED on %q", d.TimeToLiveStatus, aws.ToString(d.AttributeName), testenv.TTLAttribute)
		}
	})
}

// receive makes one ReceiveMessage call that asks for ApproximateReceiveCount.
func receive(t *testing.T, c *sqs.Client, url string, wait int32) []stypes.Message {
	t.Helper()
	out, err := c.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MaxNumberOfMessages:         10,
		WaitTimeSeconds:             wait,
		MessageSystemAttributeNames: []stypes.MessageSystemAttributeName{stypes.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return out.Messages
}

// receiveOne long-polls until one message arrives and checks its
// ApproximateReceiveCount.
func receiveOne(t *testing.T, c *sqs.Client, url string, wantCount int) stypes.Message {
	t.Helper()
	msgs := receive(t, c, url, 5)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	if got := msgs[0].Attributes[string(stypes.MessageSystemAttributeNameApproximateReceiveCount)]; got != strconv.Itoa(wantCount) {
		t.Fatalf("ApproximateReceiveCount = %q, want %d", got, wantCount)
	}
	return msgs[0]
}

func mustSend(t *testing.T, c *sqs.Client, url, body string) {
	t.Helper()
	if _, err := c.SendMessage(t.Context(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)}); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestSQS(t *testing.T) {
	t.Parallel()
	c := testenv.SQS(t)

	t.Run("BatchSendReceiveDelete", func(t *testing.T) {
		t.Parallel()
		url, _ := testenv.CreateQueue(t, c, 30*time.Second, 5)
		var entries []stypes.SendMessageBatchRequestEntry
		var want []string
		for i := range 10 { // SendMessageBatch's limit
			body := fmt.Sprintf("message %d", i)
			want = append(want, body)
			entries = append(entries, stypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(body)})
		}
		sent, err := c.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil {
			t.Fatalf("send batch: %v", err)
		}
		if len(sent.Successful) != 10 || len(sent.Failed) != 0 {
			t.Fatalf("send batch: %d ok, %d failed, want 10 ok", len(sent.Successful), len(sent.Failed))
		}

		// Even long polling may return fewer than asked for, as real SQS does.
		var got []string
		var deletes []stypes.DeleteMessageBatchRequestEntry
		for range 10 {
			if len(got) == 10 {
				break
			}
			for _, m := range receive(t, c, url, 1) {
				got = append(got, aws.ToString(m.Body))
				deletes = append(deletes, stypes.DeleteMessageBatchRequestEntry{
					Id: aws.String(strconv.Itoa(len(deletes))), ReceiptHandle: m.ReceiptHandle,
				})
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("received %q, want %q", got, want)
		}

		deleted, err := c.DeleteMessageBatch(t.Context(), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: deletes})
		if err != nil {
			t.Fatalf("delete batch: %v", err)
		}
		if len(deleted.Successful) != 10 || len(deleted.Failed) != 0 {
			t.Fatalf("delete batch: %d ok, %d failed, want 10 ok", len(deleted.Successful), len(deleted.Failed))
		}
		attrs, err := c.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url),
			AttributeNames: []stypes.QueueAttributeName{
				stypes.QueueAttributeNameApproximateNumberOfMessages,
				stypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			},
		})
		if err != nil {
			t.Fatalf("get queue attributes: %v", err)
		}
		for name, v := range attrs.Attributes {
			if v != "0" {
				t.Errorf("%s = %s after deleting every message, want 0", name, v)
			}
		}
	})

	t.Run("LongPollWaitsOnEmptyQueue", func(t *testing.T) {
		t.Parallel()
		url, _ := testenv.CreateQueue(t, c, 30*time.Second, 5)
		start := time.Now()
		if msgs := receive(t, c, url, 1); len(msgs) != 0 {
			t.Fatalf("got %d messages from an empty queue", len(msgs))
		}
		if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
			t.Errorf("ReceiveMessage with WaitTimeSeconds=1 returned after %v: not long polling", elapsed)
		}
	})

	t.Run("ReceiveCountGrowsAfterVisibilityTimeout", func(t *testing.T) {
		t.Parallel()
		url, _ := testenv.CreateQueue(t, c, time.Second, 5)
		mustSend(t, c, url, "retry me")

		first := receiveOne(t, c, url, 1)
		if msgs := receive(t, c, url, 0); len(msgs) != 0 {
			t.Fatalf("got %d messages while the only one is in flight, want 0", len(msgs))
		}
		// The long poll outlasts the 1 s visibility timeout.
		second := receiveOne(t, c, url, 2)
		if aws.ToString(second.MessageId) != aws.ToString(first.MessageId) {
			t.Errorf("message id = %s, want %s", aws.ToString(second.MessageId), aws.ToString(first.MessageId))
		}
		if aws.ToString(second.ReceiptHandle) == aws.ToString(first.ReceiptHandle) {
			t.Errorf("receipt handle reused across receives")
		}
	})

	t.Run("RedriveToDLQAfterMaxReceives", func(t *testing.T) {
		t.Parallel()
		const maxReceive = 2
		url, dlqURL := testenv.CreateQueue(t, c, time.Second, maxReceive)
		mustSend(t, c, url, "poison")

		for i := 1; i <= maxReceive; i++ {
			receiveOne(t, c, url, i)
		}
		// As in SQS, the move happens on the receive after the last allowed
		// one, once the visibility timeout has expired.
		if msgs := receive(t, c, url, 2); len(msgs) != 0 {
			t.Fatalf("receive %d returned %d messages, want 0: the message belongs in the DLQ", maxReceive+1, len(msgs))
		}
		msgs := receive(t, c, dlqURL, 5)
		if len(msgs) != 1 || aws.ToString(msgs[0].Body) != "poison" {
			t.Fatalf("DLQ has %d messages, want the poison one", len(msgs))
		}
		t.Logf("ApproximateReceiveCount in the DLQ: %s", msgs[0].Attributes[string(stypes.MessageSystemAttributeNameApproximateReceiveCount)])
	})
}
