// Package seed makes realistic tasks for demos, load tests and benchmarks:
// CRM follow-ups spread over two years, with statuses skewed by age, and
// the same tasks every time for the same seed.
package seed

import (
	"math/rand/v2"
	"time"

	"tasksapi/task"
)

var (
	verbs   = []string{"Call", "Email", "Follow up with", "Send proposal to", "Prepare quote for", "Review contract with", "Schedule demo for", "Confirm renewal with", "Visit", "Invoice"}
	people  = []string{"Sarah Connor", "Ahmed Khan", "Yuki Tanaka", "José García", "Chloé Dubois", "Müller GmbH", "Olivia Smith", "Liam O'Brien", "Zoë Papadopoulos", "Acme Corp", "Globex", "Initech", "Björk Ltd", "Priya Patel", "Chen Wei", "50% Discount Club"}
	topics  = []string{"", " about pricing", " re: onboarding", " (Q3 renewal)", " before launch", " – urgent", " about invoice #4412", " on contract_v2", " for the workshop", " next steps"}
	details = []string{"Discuss contract renewal terms.", "Send the updated price list and the case study.", "Customer asked for a call back after lunch.", "Check whether the signed copy arrived.", "Bring the demo laptop."}
)

// Span is how far back the generated tasks reach.
const Span = 2 * 365 * 24 * time.Hour

// Task is one generated task: the client's input and when it was created.
type Task struct {
	Input     task.CreateInput
	CreatedAt time.Time
}

// Generator makes the i-th of n tasks; the same seed, n and end give the
// same tasks.
type Generator struct {
	seed uint64
	n    int
	end  time.Time
}

// New returns a generator of n tasks created over the Span before end.
func New(seed uint64, n int, end time.Time) *Generator {
	return &Generator{seed: seed, n: n, end: end.UTC().Truncate(time.Second)}
}

// Input is the i-th task as ImportTasks takes it: its input and creation
// time.
func (g *Generator) Input(i int) (task.CreateInput, time.Time) {
	t := g.Task(i)
	return t.Input, t.CreatedAt
}

// Task returns the i-th task, oldest first.
func (g *Generator) Task(i int) Task {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)))
	age := 1 - float64(i)/float64(max(g.n, 1)) // 1 for the oldest, near 0 for the newest
	created := g.end.Add(-time.Duration(age * float64(Span)))
	start := created.Add(time.Duration(r.IntN(14*24)) * time.Hour).Truncate(15 * time.Minute)

	in := task.CreateInput{
		Title:         pick(r, verbs) + " " + pick(r, people) + pick(r, topics),
		StartDatetime: task.NewDateTime(start),
	}
	if r.IntN(10) < 7 {
		end := task.NewDateTime(start.Add(time.Duration(30+r.IntN(150)) * time.Minute))
		in.EndDatetime = &end
	}
	if r.IntN(10) < 3 {
		d := pick(r, details)
		in.Description = &d
	}
	switch r.IntN(3) {
	case 0:
		in.DealID = ptr(1 + r.IntN(20_000))
	case 1:
		in.ContactID = ptr(1 + r.IntN(50_000))
	default:
		in.DealID, in.ContactID = ptr(1+r.IntN(20_000)), ptr(1+r.IntN(50_000))
	}
	if r.IntN(10) < 9 {
		in.AssignedUserID = ptr(1 + r.IntN(50))
	}
	priority := task.Priority(weighted(r, []int{10, 20, 40, 20, 10}))
	in.Priority = &priority
	status := statusFor(r, age)
	in.Status = &status
	for range r.IntN(4) {
		in.TagIDs = append(in.TagIDs, 1+r.IntN(30))
	}
	return Task{Input: in, CreatedAt: created}
}

// statusFor skews by age: old tasks are mostly closed, new ones open.
func statusFor(r *rand.Rand, age float64) task.Status {
	if r.Float64() < age {
		return task.Status(weighted(r, []int{5, 3, 70, 15, 7}))
	}
	return task.Status(weighted(r, []int{60, 30, 6, 3, 1}))
}

func weighted(r *rand.Rand, weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

func ptr(v int) *int { return &v }
