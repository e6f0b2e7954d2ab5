package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"tasksapi/feed"
)

// Planned subscriptions. Every subscriber of an organisation is sent every
// change, most of them with the same selection: gqlgen would execute that
// selection for each of them, field by field, and its websocket transport
// encode each result three times more. A subscription to taskChanged
// whose selection a plan covers (the fields of TaskChange and Task, with
// fragments, aliases, @skip and @include as gqlgen collects them) is
// answered by the plan instead, and each change's payload is encoded once
// for all the subscribers whose selections have the same plan, the first
// that needs it encoding it (feed.Change.Encoded): the socket writes it
// with its subscription's id spliced in.
//
// As for planned reads, only the execution differs: the root field still
// resolves through gqlgen (its argument, the resolver, errors and
// panics), and every value is written by the marshaller gqlgen generated
// for its type. TestPlannedSubscriptionsSendWhatGqlgenSends holds the
// bytes to gqlgen's.

// plannedSchema is the executable schema with subscriptions answered by
// plans where they can be.
type plannedSchema struct {
	*executableSchema
	plans *planReads
}

func (s plannedSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation.Operation == ast.Subscription {
		if h := s.plans.subscription(ctx, oc); h != nil {
			return h
		}
	}
	return s.executableSchema.Exec(ctx)
}

// subscription answers a subscription to taskChanged by plan, as the
// generated Exec and _Subscription do but for the marshaller; nil when
// its selection cannot be planned.
func (p *planReads) subscription(ctx context.Context, oc *graphql.OperationContext) graphql.ResponseHandler {
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, subscriptionImplementors)
	if len(fields) != 1 || fields[0].Name != "taskChanged" || fields[0].IsDeferred() {
		return nil // gqlgen refuses or serves it
	}
	field := fields[0]
	plan, ok := compile(oc, field.Selections, taskChangeImplementors, changeFields, changeNested)
	if !ok {
		return nil
	}
	key := subscriptionKey(oc, field)
	if p.planned != nil {
		p.planned(field.Name)
	}
	ec := newExecutionContext(oc, p.schema, nil)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Subscription"})
	op := operationOf(ctx)

	// The generated _Subscription_taskChanged, but that the changes are
	// taken from the subscription's changeStream, not through a channel
	// and a goroutine, and their payloads are the plan's, encoded once.
	var taken *changeStream
	var change *feed.Change // when a change does come through the channel
	rctx := ctx
	if op != nil { // on a socket, whose operation ends it (onEnd)
		rctx = withTaker(ctx, &taken)
	}
	next := graphql.ResolveFieldStream(rctx, oc, field,
		ec.fieldContext_Subscription_taskChanged,
		func(ctx context.Context) (any, error) {
			fc := graphql.GetFieldContext(ctx)
			return ec.Resolvers.Subscription().TaskChanged(ctx, fc.Args["after"].(*int64))
		},
		nil,
		func(ctx context.Context, sel ast.SelectionSet, v *feed.Change) graphql.Marshaler {
			if v == nil {
				return ec.marshalNTaskChange2ᚖtasksapiᚋfeedᚐChange(ctx, sel, v)
			}
			change = v
			return graphql.Null // not written: the plan writes the change
		},
		true, true)
	if taken != nil && op != nil {
		op.onEnd = taken.close
	}

	encode := func(c *feed.Change) []byte {
		var b bytes.Buffer
		b.WriteByte('{')
		graphql.MarshalString(field.Alias).MarshalGQL(&b)
		b.WriteByte(':')
		plan.write(ec, ctx, &b, c)
		b.WriteByte('}')
		return b.Bytes()
	}
	var buf bytes.Buffer
	return func(ctx context.Context) *graphql.Response {
		var c *feed.Change
		if taken != nil {
			if c = taken.next(); c == nil {
				return nil
			}
		} else {
			buf.Reset()
			change = nil
			data := next(ctx)
			if data == nil {
				return nil
			}
			data.MarshalGQL(&buf)
			if change == nil { // a null, with its error: as gqlgen writes it
				return &graphql.Response{Data: buf.Bytes()}
			}
			c = change
		}
		d := c.Encoded(key, encode)
		if op != nil {
			op.data = d
			op.payload = c.Encoded(key+wsPayloadKey, func(c *feed.Change) []byte { return wsPayload(d) })
			op.more = taken != nil && taken.ready()
		}
		return &graphql.Response{Data: d}
	}
}

// wsPayloadKey marks the key of a change's payload over WebSocket.
const wsPayloadKey = " ws"

// wsPayload is the payload of a next message of data, as gqlgen's
// websocket transport writes a result without errors: {"data":...}, with
// encoding/json's escapes of HTML's characters (and of U+2028 and U+2029)
// inside strings, which it applies to the data as it encodes it.
func wsPayload(data []byte) []byte {
	b := make([]byte, 0, len(data)+16)
	b = append(b, `{"data":`...)
	var e bytes.Buffer
	json.HTMLEscape(&e, data)
	b = append(b, e.Bytes()...)
	return append(b, '}')
}

// subscriptionKey names a subscription's plan: the field's alias and,
// recursively, the alias and name of each field it selects, in order.
// Two selections with the same key write the same bytes for a change.
func subscriptionKey(oc *graphql.OperationContext, field graphql.CollectedField) string {
	var b strings.Builder
	b.WriteString(field.Alias)
	selectionKey(&b, oc, field.Selections, taskChangeImplementors)
	return b.String()
}

func selectionKey(b *strings.Builder, oc *graphql.OperationContext, sel ast.SelectionSet, implementors []string) {
	b.WriteByte('{')
	for _, f := range graphql.CollectFields(oc, sel, implementors) {
		b.WriteString(f.Alias)
		b.WriteByte(':')
		b.WriteString(f.Name)
		if f.Name == "task" && len(f.Selections) > 0 {
			selectionKey(b, oc, f.Selections, taskImplementors)
		}
		b.WriteByte(',')
	}
	b.WriteByte('}')
}

// The fields of TaskChange, as the generated _TaskChange_<field>
// functions bind them.

var changeFields = leaves[feed.Change]{
	"seq": func(ec *executionContext, ctx context.Context, c *feed.Change) graphql.Marshaler {
		return ec.marshalNSeq2int64(ctx, nil, c.Seq)
	},
	"type": func(ec *executionContext, ctx context.Context, c *feed.Change) graphql.Marshaler {
		return ec.marshalNTaskChangeType2tasksapiᚋfeedᚐType(ctx, nil, c.Type)
	},
	"taskId": func(ec *executionContext, ctx context.Context, c *feed.Change) graphql.Marshaler {
		return ec.marshalNID2int(ctx, nil, c.TaskID)
	},
	"at": func(ec *executionContext, ctx context.Context, c *feed.Change) graphql.Marshaler {
		return ec.marshalNDateTime2tasksapiᚋtaskᚐDateTime(ctx, nil, c.At)
	},
	"changedFields": func(ec *executionContext, ctx context.Context, c *feed.Change) graphql.Marshaler {
		return ec.marshalNString2ᚕstringᚄ(ctx, nil, c.Fields)
	},
}

func changeNested(oc *graphql.OperationContext, f graphql.CollectedField) (writer[feed.Change], bool) {
	if f.Name != "task" {
		return nil, false
	}
	t, ok := compile(oc, f.Selections, taskImplementors, taskFields, nil)
	return func(ec *executionContext, ctx context.Context, w io.Writer, c *feed.Change) {
		if c.Task == nil {
			graphql.Null.MarshalGQL(w) // a delete's
			return
		}
		t.write(ec, ctx, w, c.Task)
	}, ok
}

// operation is one operation running on a socket: its id, what ended it
// (errors a subscription ends with, sent as its error message), and the
// payload of its result when a plan encoded it for every subscriber.
type operation struct {
	id     string
	suffix []byte      // closes a next message: the id, then the type
	timer  *time.Timer // the send timeout of its writes
	buf    []byte      // its last next message, reused

	// Set by a planned subscription with each result: its data, the
	// payload of its next message, and whether another result is at hand
	// (written together, in one write to the connection).
	data, payload []byte
	more          bool
	corked        bool // the socket holds writes back for more to come
	// onEnd, when set, ends a subscription whose changes it takes itself
	// (it has no goroutine of its own to learn of the end).
	onEnd func()

	mu   sync.Mutex
	errs gqlerror.List
}

func newOperation(c *socket, id string) *operation {
	op := &operation{id: id, timer: time.AfterFunc(time.Hour, c.tooSlow)}
	op.timer.Stop()
	op.suffix = []byte(`,"type":"next"}`)
	if id != "" { // as encoding/json writes the message, whose id is omitempty
		quoted, _ := json.Marshal(id)
		op.suffix = append(append([]byte(`,"id":`), quoted...), op.suffix...)
	}
	return op
}

// sharedPayload is the payload a plan encoded for resp, or nil when resp
// is not a plan's result as it made it (an error or an extension added on
// the way is sent as gqlgen encodes it).
func (op *operation) sharedPayload(resp *graphql.Response) []byte {
	data, payload := op.data, op.payload
	op.data, op.payload = nil, nil
	if payload == nil || len(resp.Errors) > 0 || len(resp.Extensions) > 0 || resp.Label != "" ||
		resp.Path != nil || resp.HasNext != nil || len(resp.Data) != len(data) || len(data) == 0 ||
		&resp.Data[0] != &data[0] {
		return nil
	}
	return payload
}

func (op *operation) fail(err *gqlerror.Error) {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.errs = append(op.errs, err)
}

func (op *operation) failures() gqlerror.List {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.errs
}

func (op *operation) release() { op.timer.Stop() }

type operationKey struct{}

func withOperation(ctx context.Context, op *operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// operationOf is the socket's operation ctx runs, or nil.
func operationOf(ctx context.Context) *operation {
	op, _ := ctx.Value(operationKey{}).(*operation)
	return op
}
