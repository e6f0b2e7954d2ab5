package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
)

// Bounds checked before a query is parsed and validated. Validation of
// repeated fields is quadratic in their number, so a hostile query must be
// refused before it, whatever its complexity would have been.
const (
	maxQueryBytes = 32 << 10 // the playground's schema query is under 2 KiB
	maxTokens     = 4000
	maxNames      = 500 // names in the query: an upper bound on its fields
)

const codeQueryTooLarge = "QUERY_TOO_LARGE"

// sizeLimit refuses oversized query texts before gqlgen parses them.
type sizeLimit struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = sizeLimit{}

func (sizeLimit) ExtensionName() string                          { return "SizeLimit" }
func (sizeLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

func (sizeLimit) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if len(p.Query) > maxQueryBytes {
		return tooLarge(fmt.Sprintf("the query is over %d bytes", maxQueryBytes))
	}
	// Names are separated, so a query shorter than twice the limit cannot
	// hold too many: the common case skips the count.
	if len(p.Query) < 2*maxNames {
		return nil
	}
	// One linear pass of the lexer counts the names; a lexing error is
	// left for the parser to report.
	lex := lexer.New(&ast.Source{Input: p.Query})
	names := 0
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			return nil
		}
		if tok.Kind == lexer.Name {
			if names++; names > maxNames {
				return tooLarge(fmt.Sprintf("the query has over %d fields", maxNames))
			}
		}
	}
}

func tooLarge(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": codeQueryTooLarge}}
}

// depthLimit refuses operations nested deeper than max, counting through
// fragments and introspection fields alike.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                          { return "DepthLimit" }
func (depthLimit) Validate(schema graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, d.max+1); depth > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("the query is nested deeper than %d levels", d.max),
			Extensions: map[string]any{"code": "QUERY_TOO_DEEP"},
		}
	}
	return nil
}

// selectionDepth is the depth of set, counting no further than limit.
// Validation has already ruled out fragment cycles.
func selectionDepth(set ast.SelectionSet, limit int) int {
	if limit == 0 {
		return 0
	}
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = 1
			if len(s.SelectionSet) > 0 {
				d += selectionDepth(s.SelectionSet, limit-1)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}
