// Package graph serves the GraphQL interface. generated.go is written by
// gqlgen from schema.graphqls and gqlgen.yml (run `go generate ./...` at the
// repository root after changing either); the resolvers are thin calls into
// task.Service.
package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"tasksapi/task"
)

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Service task.Service
}

// selectsTotal reports whether the query asks for a list's totals, which
// cost a count that a page of items alone does not.
func selectsTotal(ctx context.Context) bool {
	for _, f := range graphql.CollectFieldsCtx(ctx, nil) {
		if f.Name == "totalRecords" || f.Name == "totalPages" || f.Name == "totalCount" {
			return true
		}
	}
	return false
}
