package graph

import (
	"context"
	"io"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"tasksapi/task"
)

// Planned reads. gqlgen executes every field of an answer on its own: a
// field context, a resolver call through the middleware chain and a boxed
// result for each, and a goroutine for each task of a list, which is most
// of what a page of tasks costs (about 2,200 allocations for ten tasks).
// The three reads (tasks, tasksConnection, task) select only plain fields
// below their root: struct fields and methods of the task types, with no
// resolver of their own. For those, planReads turns the selection into a
// plan once per request and writes the answer by walking it.
//
// Only the execution differs. The root field still goes through gqlgen
// (its arguments, the resolver, errors and panics), the selection is
// collected by gqlgen (fragments, aliases, @skip and @include), and every
// value is written by the marshaller gqlgen generated for its type, so the
// bytes are gqlgen's: TestPlannedReadsAnswerAsGqlgenDoes holds the two
// together. A selection a plan does not know (a field added to the schema
// and not below, @defer, introspection) is left to gqlgen whole.

// planReads answers the root fields it can plan, and passes the rest on.
type planReads struct {
	schema *executableSchema
	// planned, when set, learns of each root field answered by a plan.
	planned func(field string)
}

// intercept is a root field middleware (gqlgen's AroundRootFields).
func (p *planReads) intercept(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	oc := graphql.GetOperationContext(ctx)
	field := graphql.GetRootFieldContext(ctx).Field
	if oc.Operation.Operation != ast.Query {
		return next(ctx)
	}
	answer := p.answer(ctx, oc, field)
	if answer == nil {
		return next(ctx)
	}
	if p.planned != nil {
		p.planned(field.Name)
	}
	return answer
}

// answer is the root field's answer by plan, or nil when the field or its
// selection cannot be planned. Each case resolves the field as the
// generated _Query_<field> does, with the plan in place of the generated
// marshaller.
func (p *planReads) answer(ctx context.Context, oc *graphql.OperationContext, field graphql.CollectedField) graphql.Marshaler {
	ec := newExecutionContext(oc, p.schema, nil)
	switch field.Name {
	case "tasks":
		plan, ok := compile(oc, field.Selections, taskPageImplementors, pageFields, pageNested)
		if !ok {
			return nil
		}
		return resolved(ctx, ec, field, ec.fieldContext_Query_tasks, true,
			plan, ec.marshalNTaskPage2ᚖtasksapiᚋtaskᚐPage,
			func(ctx context.Context, a map[string]any) (*task.Page, error) {
				return ec.Resolvers.Query().Tasks(ctx, a["filter"].(*task.Filter), a["pageSize"].(*int),
					a["pageIndex"].(*int), a["sortBy"].(*task.SortField), a["sortOrder"].(*task.SortOrder))
			})
	case "tasksConnection":
		plan, ok := compile(oc, field.Selections, taskConnectionImplementors, connectionFields, connectionNested)
		if !ok {
			return nil
		}
		return resolved(ctx, ec, field, ec.fieldContext_Query_tasksConnection, true,
			plan, ec.marshalNTaskConnection2ᚖtasksapiᚋtaskᚐConnection,
			func(ctx context.Context, a map[string]any) (*task.Connection, error) {
				return ec.Resolvers.Query().TasksConnection(ctx, a["filter"].(*task.Filter), a["first"].(*int),
					a["after"].(*string), a["sortBy"].(*task.SortField), a["sortOrder"].(*task.SortOrder))
			})
	case "task":
		plan, ok := compile(oc, field.Selections, taskImplementors, taskFields, nil)
		if !ok {
			return nil
		}
		return resolved(ctx, ec, field, ec.fieldContext_Query_task, false,
			plan, ec.marshalOTask2ᚖtasksapiᚋtaskᚐTask,
			func(ctx context.Context, a map[string]any) (*task.Task, error) {
				return ec.Resolvers.Query().Task(ctx, a["id"].(string))
			})
	}
	return nil
}

// resolved resolves a root field through gqlgen: fieldContext (the
// generated one) reads its arguments, resolve calls its resolver with
// them, and the value is written by plan, or when there is none by the
// generated marshaller, which reports a null where the schema allows none.
func resolved[T any](ctx context.Context, ec *executionContext, field graphql.CollectedField,
	fieldContext func(context.Context, graphql.CollectedField) (*graphql.FieldContext, error), nonNull bool,
	plan object[T], generated func(context.Context, ast.SelectionSet, *T) graphql.Marshaler,
	resolve func(ctx context.Context, args map[string]any) (*T, error),
) graphql.Marshaler {
	return graphql.ResolveField(ctx, ec.OperationContext, field, fieldContext,
		func(ctx context.Context) (any, error) { return resolve(ctx, graphql.GetFieldContext(ctx).Args) },
		nil,
		func(ctx context.Context, sel ast.SelectionSet, v *T) graphql.Marshaler {
			if v == nil {
				return generated(ctx, sel, v)
			}
			return graphql.WriterFunc(func(w io.Writer) { plan.write(ec, ctx, w, v) })
		},
		true, nonNull)
}

// writer writes one field's value of a T.
type writer[T any] func(ec *executionContext, ctx context.Context, w io.Writer, v *T)

// object is the plan of a selection on a T: its fields in the order
// gqlgen collected them, each with its key (`"alias":`).
type object[T any] []struct {
	key   string
	write writer[T]
}

// write writes v as gqlgen writes an object: {"key":value,...}.
func (o object[T]) write(ec *executionContext, ctx context.Context, w io.Writer, v *T) {
	io.WriteString(w, "{")
	for i, f := range o {
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, f.key)
		f.write(ec, ctx, w, v)
	}
	io.WriteString(w, "}")
}

// leaves maps a type's scalar fields to their values, each marshalled as
// the generated field of that name marshals it.
type leaves[T any] map[string]func(ec *executionContext, ctx context.Context, v *T) graphql.Marshaler

// nesting plans a field of T whose type is an object or a list of objects;
// false when it is not such a field, or its selection cannot be planned.
type nesting[T any] func(oc *graphql.OperationContext, f graphql.CollectedField) (writer[T], bool)

// compile plans sel on the object type named by implementors; false when a
// field selected is neither a leaf nor a nested object it can plan, or is
// deferred.
func compile[T any](oc *graphql.OperationContext, sel ast.SelectionSet, implementors []string,
	scalars leaves[T], nested nesting[T],
) (object[T], bool) {
	fields := graphql.CollectFields(oc, sel, implementors)
	plan := make(object[T], len(fields))
	for i, f := range fields {
		if f.IsDeferred() {
			return nil, false
		}
		plan[i].key = `"` + f.Alias + `":` // an alias is a GraphQL name: nothing to escape
		if f.Name == "__typename" {
			typename := implementors[0]
			plan[i].write = func(_ *executionContext, _ context.Context, w io.Writer, _ *T) {
				graphql.MarshalString(typename).MarshalGQL(w)
			}
			continue
		}
		if leaf, ok := scalars[f.Name]; ok {
			plan[i].write = func(ec *executionContext, ctx context.Context, w io.Writer, v *T) {
				leaf(ec, ctx, v).MarshalGQL(w)
			}
			continue
		}
		var ok bool
		if nested != nil {
			plan[i].write, ok = nested(oc, f)
		}
		if !ok {
			return nil, false
		}
	}
	return plan, true
}

// list writes the objects items returns as gqlgen writes a list: [a,b,...].
func list[T, E any](plan object[E], items func(*T) []E) writer[T] {
	return func(ec *executionContext, ctx context.Context, w io.Writer, v *T) {
		io.WriteString(w, "[")
		for i, items := 0, items(v); i < len(items); i++ {
			if i > 0 {
				io.WriteString(w, ",")
			}
			plan.write(ec, ctx, w, &items[i])
		}
		io.WriteString(w, "]")
	}
}

// The fields of each task type, as the generated code binds them (see the
// generated _<Type>_<field> functions).

var taskFields = leaves[task.Task]{
	"id": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNID2int(ctx, nil, t.ID)
	},
	"activityId": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, t.ID)
	},
	"title": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNString2string(ctx, nil, t.Title)
	},
	"activityType": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNString2string(ctx, nil, t.ActivityType())
	},
	"status": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNTaskStatus2tasksapiᚋtaskᚐStatus(ctx, nil, t.Status)
	},
	"priority": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNTaskPriority2tasksapiᚋtaskᚐPriority(ctx, nil, t.Priority)
	},
	"startDatetime": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNDateTime2tasksapiᚋtaskᚐDateTime(ctx, nil, t.StartDatetime)
	},
	"endDatetime": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalODateTime2ᚖtasksapiᚋtaskᚐDateTime(ctx, nil, t.EndDatetime)
	},
	"dueDate": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNDate2tasksapiᚋtaskᚐDate(ctx, nil, t.DueDate)
	},
	"description": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalOString2ᚖstring(ctx, nil, t.Description)
	},
	"dealId": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalOInt2ᚖint(ctx, nil, t.DealID)
	},
	"contactId": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalOInt2ᚖint(ctx, nil, t.ContactID)
	},
	"assignedUserId": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalOInt2ᚖint(ctx, nil, t.AssignedUserID)
	},
	"tagIds": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNInt2ᚕintᚄ(ctx, nil, t.TagIDs)
	},
	"createdAt": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNDateTime2tasksapiᚋtaskᚐDateTime(ctx, nil, t.CreatedAt)
	},
	"updatedAt": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNDateTime2tasksapiᚋtaskᚐDateTime(ctx, nil, t.UpdatedAt)
	},
	"completedAt": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalODateTime2ᚖtasksapiᚋtaskᚐDateTime(ctx, nil, t.CompletedAt)
	},
	"version": func(ec *executionContext, ctx context.Context, t *task.Task) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, t.Version)
	},
}

var pageFields = leaves[task.Page]{
	"currentPage": func(ec *executionContext, ctx context.Context, p *task.Page) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, p.CurrentPage())
	},
	"totalRecords": func(ec *executionContext, ctx context.Context, p *task.Page) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, p.TotalRecords)
	},
	"totalPages": func(ec *executionContext, ctx context.Context, p *task.Page) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, p.TotalPages())
	},
	"pageSize": func(ec *executionContext, ctx context.Context, p *task.Page) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, p.PageSize)
	},
	"pageIndex": func(ec *executionContext, ctx context.Context, p *task.Page) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, p.PageIndex)
	},
}

func pageNested(oc *graphql.OperationContext, f graphql.CollectedField) (writer[task.Page], bool) {
	if f.Name != "items" {
		return nil, false
	}
	tasks, ok := compile(oc, f.Selections, taskImplementors, taskFields, nil)
	return list(tasks, func(p *task.Page) []task.Task { return p.Items }), ok
}

var connectionFields = leaves[task.Connection]{
	"totalCount": func(ec *executionContext, ctx context.Context, c *task.Connection) graphql.Marshaler {
		return ec.marshalNInt2int(ctx, nil, c.TotalCount)
	},
}

func connectionNested(oc *graphql.OperationContext, f graphql.CollectedField) (writer[task.Connection], bool) {
	switch f.Name {
	case "edges":
		edges, ok := compile(oc, f.Selections, taskEdgeImplementors, edgeFields, edgeNested)
		return list(edges, func(c *task.Connection) []task.Edge { return c.Edges }), ok
	case "pageInfo":
		info, ok := compile(oc, f.Selections, pageInfoImplementors, pageInfoFields, nil)
		return func(ec *executionContext, ctx context.Context, w io.Writer, c *task.Connection) {
			pi := c.PageInfo()
			info.write(ec, ctx, w, &pi)
		}, ok
	}
	return nil, false
}

var edgeFields = leaves[task.Edge]{
	"cursor": func(ec *executionContext, ctx context.Context, e *task.Edge) graphql.Marshaler {
		return ec.marshalNString2string(ctx, nil, e.Cursor)
	},
}

func edgeNested(oc *graphql.OperationContext, f graphql.CollectedField) (writer[task.Edge], bool) {
	if f.Name != "node" {
		return nil, false
	}
	node, ok := compile(oc, f.Selections, taskImplementors, taskFields, nil)
	return func(ec *executionContext, ctx context.Context, w io.Writer, e *task.Edge) {
		node.write(ec, ctx, w, &e.Node)
	}, ok
}

var pageInfoFields = leaves[task.PageInfo]{
	"hasNextPage": func(ec *executionContext, ctx context.Context, p *task.PageInfo) graphql.Marshaler {
		return ec.marshalNBoolean2bool(ctx, nil, p.HasNextPage)
	},
	"hasPreviousPage": func(ec *executionContext, ctx context.Context, p *task.PageInfo) graphql.Marshaler {
		return ec.marshalNBoolean2bool(ctx, nil, p.HasPreviousPage)
	},
	"startCursor": func(ec *executionContext, ctx context.Context, p *task.PageInfo) graphql.Marshaler {
		return ec.marshalOString2ᚖstring(ctx, nil, p.StartCursor)
	},
	"endCursor": func(ec *executionContext, ctx context.Context, p *task.PageInfo) graphql.Marshaler {
		return ec.marshalOString2ᚖstring(ctx, nil, p.EndCursor)
	},
}
