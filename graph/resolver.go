// Package graph serves the GraphQL interface. generated.go is written by
// gqlgen from schema.graphqls and gqlgen.yml; the resolvers are thin calls
// into task.Service.
package graph

//go:generate go run github.com/99designs/gqlgen generate --config ../gqlgen.yml

import "tasksapi/task"

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Service task.Service
}
