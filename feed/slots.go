package feed

import (
	"fmt"
	"sync"

	"tasksapi/task"
)

// Slots bounds the streams and subscriptions each API key holds open at
// once, REST streams and GraphQL subscriptions together.
type Slots struct {
	max int

	mu    sync.Mutex
	open  map[int]int // by API key
	total int
}

// NewSlots allows each key max open streams and subscriptions.
func NewSlots(max int) *Slots { return &Slots{max: max, open: map[int]int{}} }

// Take holds a slot for the key until release is called, or refuses one
// more than the key may hold with task.CodeTooManySubscriptions.
func (s *Slots) Take(keyID int) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open[keyID] >= s.max {
		return nil, &task.Error{Code: task.CodeTooManySubscriptions,
			Message: fmt.Sprintf("This key already holds %d open streams and subscriptions, the most it may", s.max)}
	}
	s.open[keyID]++
	s.total++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.open[keyID]--; s.open[keyID] == 0 {
				delete(s.open, keyID)
			}
			s.total--
		})
	}, nil
}

// Open is how many streams and subscriptions are open, over every key.
func (s *Slots) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}
