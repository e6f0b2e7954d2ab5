package task

import (
	"math"
	"strings"
)

// Page sizes of a list.
const (
	DefaultPageSize = 10
	MaxPageSize     = 100 // larger requests are served this many
)

// SortField is a column a list can be ordered by.
type SortField int

const (
	SortByID SortField = iota
	SortByTitle
	SortByStatus
	SortByPriority
	SortByStartDatetime
	SortByEndDatetime
	SortByDueDate
	SortByCreatedAt
	SortByUpdatedAt
)

// SortOrder is the direction of a sort.
type SortOrder int

const (
	Asc SortOrder = iota
	Desc
)

// Filter narrows a list. Nil fields do not filter.
type Filter struct {
	// Search is a case-insensitive substring of the title, every character
	// taken literally; empty does not filter.
	Search         *string
	Status         *Status
	Priority       *Priority
	AssignedUserID *int
	DueDateFrom    *Date // inclusive
	DueDateTo      *Date // inclusive
}

// ListParams is a list request as a client sends it; nil means "not sent".
type ListParams struct {
	Filter    Filter
	PageSize  *int
	PageIndex *int
	SortBy    *SortField
	SortOrder *SortOrder
	// SkipTotal leaves Page.TotalRecords at 0, for a client that does not
	// show it (GraphQL counts only when totalRecords or totalPages is
	// selected).
	SkipTotal bool
}

// ListQuery is a checked list request with every default applied: what a
// store executes.
type ListQuery struct {
	Filter    Filter // Search is nil rather than empty
	PageSize  int
	PageIndex int
	SortBy    SortField
	SortOrder SortOrder // ties are broken by ID in the same direction
	SkipTotal bool
}

// Offset is the number of matching tasks before the page, saturating
// instead of overflowing for absurd page indexes.
func (q ListQuery) Offset() int {
	if q.PageIndex > math.MaxInt/q.PageSize {
		return math.MaxInt
	}
	return q.PageIndex * q.PageSize
}

// PageSize is the number of tasks a page of the requested size holds: the
// default when none is asked for, at most MaxPageSize. A size below 1 is
// refused by Query; here it counts as 1.
func PageSize(requested *int) int {
	if requested == nil {
		return DefaultPageSize
	}
	return max(1, min(*requested, MaxPageSize))
}

// Query checks p and applies the defaults: ten tasks a page, the first page,
// newest first. A sortBy without a sortOrder sorts ascending.
func (p ListParams) Query() (ListQuery, error) {
	var errs fieldErrors
	q := ListQuery{Filter: p.Filter, PageSize: PageSize(p.PageSize), SortBy: SortByID, SortOrder: Desc, SkipTotal: p.SkipTotal}

	if p.PageSize != nil && *p.PageSize < 1 {
		errs.add("pageSize", "must be at least 1")
	}
	if p.PageIndex != nil {
		q.PageIndex = *p.PageIndex
		if *p.PageIndex < 0 {
			errs.add("pageIndex", "must be at least 0")
		}
	}
	if p.SortBy != nil {
		q.SortBy, q.SortOrder = *p.SortBy, Asc
		if *p.SortBy < SortByID || *p.SortBy > SortByUpdatedAt {
			errs.add("sortBy", "is not a sortable field")
		}
	}
	if p.SortOrder != nil {
		q.SortOrder = *p.SortOrder
		if *p.SortOrder != Asc && *p.SortOrder != Desc {
			errs.add("sortOrder", "must be asc or desc")
		}
	}

	f := &q.Filter
	if f.Search != nil && *f.Search == "" {
		f.Search = nil
	}
	if f.Status != nil && !f.Status.Valid() {
		errs.add("status", msgStatusRange)
	}
	if f.Priority != nil && !f.Priority.Valid() {
		errs.add("priority", msgPriorityRange)
	}
	checkPositive(&errs, "assignedUserId", f.AssignedUserID)
	if f.DueDateFrom != nil && f.DueDateTo != nil && f.DueDateFrom.After(*f.DueDateTo) {
		errs.add("dueDateTo", "must not be before {dueDateFrom}")
	}

	if err := errs.err(); err != nil {
		return ListQuery{}, err
	}
	return q, nil
}

// Page is one page of a list.
type Page struct {
	Items        []Task
	PageSize     int // the size served, after the cap
	PageIndex    int
	TotalRecords int
}

// CurrentPage is the one-based page number.
func (p Page) CurrentPage() int { return p.PageIndex + 1 }

// TotalPages is the number of pages of PageSize that hold every match.
func (p Page) TotalPages() int {
	return (p.TotalRecords + p.PageSize - 1) / p.PageSize
}

// Fold is the form in which titles are compared: a title sort and a
// search ignore case, by comparing folded titles with a folded term. The
// stores keep each task's folded title beside it (title_fold), so both
// sort and find the same tasks.
func Fold(title string) string { return strings.ToLower(title) }
