// Package graph serves the GraphQL interface. generated.go is written by
// gqlgen from schema.graphqls and gqlgen.yml (run `go generate ./...` at the
// repository root after changing either); the resolvers are thin calls into
// task.Service.
package graph

import "tasksapi/task"

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Service task.Service
}
