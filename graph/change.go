package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"tasksapi/task"
)

// updateInput is in as the domain takes a change: each field left out,
// null or a value, for task.Task.Apply to merge by the rules of a create.
func updateInput(in UpdateTaskInput) task.UpdateInput {
	return task.UpdateInput{
		Title:          patch(in.Title),
		StartDatetime:  patch(in.StartDatetime),
		EndDatetime:    patch(in.EndDatetime),
		Description:    patch(in.Description),
		DealID:         patch(in.DealID),
		ContactID:      patch(in.ContactID),
		Priority:       patch(in.Priority),
		Status:         patch(in.Status),
		AssignedUserID: patch(in.AssignedUserID),
		TagIDs:         patchList(in.TagIds),
	}
}

func patch[T any](o graphql.Omittable[*T]) task.Patch[T] {
	return task.Patch[T]{Set: o.IsSet(), Value: o.Value()}
}

// patchList is patch for a list, whose null gqlgen gives as a nil slice
// (and [] as an empty one).
func patchList[T any](o graphql.Omittable[[]T]) task.Patch[[]T] {
	p := task.Patch[[]T]{Set: o.IsSet()}
	if v := o.Value(); v != nil {
		p.Value = &v
	}
	return p
}

// expect is the condition an expectedVersion argument puts on a change.
func expect(version *int) task.Expect {
	if version == nil {
		return task.AnyVersion()
	}
	return task.OneOf(*version)
}
