package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"tasksapi/internal/pgtest"
)

func TestAPrivateClusterStopsAndStartsAgain(t *testing.T) {
	c := pgtest.NewCluster(t)
	query := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.URL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return conn.QueryRow(ctx, "SELECT 1").Scan(new(int))
	}
	if err := query(); err != nil {
		t.Fatalf("a started cluster: %v", err)
	}
	c.Stop()
	if err := query(); err == nil {
		t.Fatal("a stopped cluster answered")
	}
	c.Start()
	if err := query(); err != nil {
		t.Fatalf("a cluster started again: %v", err)
	}
}
