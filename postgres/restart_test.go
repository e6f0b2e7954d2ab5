package postgres_test

import (
	"context"
	"testing"

	"tasksapi/access"
	"tasksapi/feed"
	"tasksapi/internal/pgtest"
	"tasksapi/postgres"
	"tasksapi/task"
)

// TestReadsAfterTheDatabaseRestartedAreAnsweredOnFreshConnections
// restarts the database under an open store: every connection its pool
// kept is then dead, and each read must still be answered, run again on
// a new connection, rather than fail once per dead connection.
func TestReadsAfterTheDatabaseRestartedAreAnsweredOnFreshConnections(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	ctx := context.Background()
	s, err := postgres.Open(ctx, cluster.URL()+"&pool_max_conns=4&pool_min_conns=4")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	creds, err := access.NewKey(ctx, s, "Acme", "restart")
	if err != nil {
		t.Fatal(err)
	}
	ctx = access.WithPrincipal(ctx, access.Principal{OrganisationID: creds.OrganisationID, KeyID: creds.KeyID})
	start, _ := task.ParseDateTime("2026-07-15T10:00:00")
	created, err := s.CreateTask(ctx, task.CreateInput{Title: "before the restart", StartDatetime: start, DealID: &[]int{1}[0]})
	if err != nil {
		t.Fatal(err)
	}
	cluster.Stop()
	cluster.Start()
	reads := []struct {
		name string
		read func() error
	}{
		{"a task by id", func() error { _, err := s.Task(ctx, created.ID); return err }},
		{"a list", func() error { _, err := s.ListTasks(ctx, task.ListParams{}); return err }},
		{"a page of cursors", func() error { _, err := s.TaskConnection(ctx, task.ConnectionParams{}); return err }},
		{"the feed", func() error { _, err := s.Changes(ctx, feed.Query{Limit: 10}); return err }},
		{"a key", func() error { _, err := s.KeyByAccessKey(ctx, creds.AccessKey); return err }},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			if err := r.read(); err != nil {
				t.Errorf("after the restart: %v", err)
			}
		})
	}
}
