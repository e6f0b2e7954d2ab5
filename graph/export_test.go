package graph

import (
	"net/http"

	"github.com/vektah/gqlparser/v2/ast"
)

// NewGqlgenHandler is NewHandler with no planned reads: gqlgen executes
// every field, the answer the plans are held to.
func NewGqlgenHandler(o Options) http.Handler {
	return newHandler(o, nil)
}

// NewNotingHandler is NewHandler that calls planned with the name of each
// root field a plan answers.
func NewNotingHandler(o Options, planned func(field string)) http.Handler {
	return newHandler(o, &planReads{planned: planned})
}

// Schema is the parsed schema the server serves.
func Schema() *ast.Schema { return NewExecutableSchema(Config{}).Schema() }
