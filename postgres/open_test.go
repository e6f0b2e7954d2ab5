package postgres_test

import (
	"context"
	"sync"
	"testing"

	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
)

func TestServersOpeningANewDatabaseTogetherMigrateItOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), url)
			if err == nil {
				err = s.Ready(context.Background())
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("server %d: %v", i, err)
		}
	}
}
