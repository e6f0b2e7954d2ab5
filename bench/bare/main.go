// Command bare is the ceiling the tasks API's list is measured against: a
// bare net/http server that answers GET /v1/tasks?status=N (or no status)
// with a page of 10 tasks and its total from the counter table, through
// prepared statements on the same database, with no keys, logs, metrics,
// CORS or validation. bench/load.sh drives it with the same requests as
// the real server, so that the two are compared side by side in one run.
//
//	bare --db tasks.db --org 1 --addr 127.0.0.1:0
//
// It prints "listening on ADDR" once it serves. Not for anything else.
package main

import (
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"

	_ "github.com/mattn/go-sqlite3"
)

const columns = `id, title, status, priority, start_datetime, end_datetime, due_date, description,
	deal_id, contact_id, assigned_user_id, created_at, updated_at, tag_ids`

type row struct {
	ID             int64           `json:"activity_id"`
	Title          string          `json:"title"`
	Status         int64           `json:"status"`
	Priority       int64           `json:"priority"`
	StartDatetime  string          `json:"start_datetime"`
	EndDatetime    *string         `json:"end_datetime"`
	DueDate        string          `json:"due_date"`
	Description    *string         `json:"description"`
	DealID         *int64          `json:"deal_id"`
	ContactID      *int64          `json:"cstid"`
	AssignedUserID *int64          `json:"assigned_user_id"`
	CreatedAt      string          `json:"created_at"`
	UpdatedAt      string          `json:"updated_at"`
	Tags           json.RawMessage `json:"tags"`
}

func main() {
	path := flag.String("db", "tasks.db", "database file")
	org := flag.Int("org", 1, "organisation id")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	db, err := sql.Open("sqlite3", *path+"?_query_only=true&_journal_mode=WAL&_mutex=no")
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	prepare := func(q string) *sql.Stmt {
		s, err := db.Prepare(q)
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	// "= +?" rather than "= ?", as the server writes its SQL: with a bare
	// placeholder SQLite plans the statement again on every run (see
	// bound in package sqlite), which would make this ceiling a low one.
	all := prepare("SELECT " + columns + " FROM tasks WHERE organisation_id = +? ORDER BY id DESC LIMIT 10")
	byStatus := prepare("SELECT " + columns + " FROM tasks WHERE organisation_id = +? AND status = +? ORDER BY id DESC LIMIT 10")
	total := prepare("SELECT coalesce(sum(n), 0) FROM task_counts WHERE organisation_id = +?")
	totalByStatus := prepare("SELECT coalesce(sum(n), 0) FROM task_counts WHERE organisation_id = +? AND status = +?")

	http.HandleFunc("GET /v1/tasks", func(w http.ResponseWriter, r *http.Request) {
		page, count, args := all, total, []any{*org}
		if s := r.URL.Query().Get("status"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				http.Error(w, "bad status", http.StatusBadRequest)
				return
			}
			page, count, args = byStatus, totalByStatus, append(args, n)
		}
		var n int
		if err := count.QueryRow(args...).Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rows, err := page.Query(args...)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		out := []row{}
		for rows.Next() {
			var t row
			var tags string
			if err := rows.Scan(&t.ID, &t.Title, &t.Status, &t.Priority, &t.StartDatetime, &t.EndDatetime,
				&t.DueDate, &t.Description, &t.DealID, &t.ContactID, &t.AssignedUserID, &t.CreatedAt,
				&t.UpdatedAt, &tags); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			t.Tags = json.RawMessage(tags)
			out = append(out, t)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"success": true, "data": map[string]any{
			"data": out, "total_records": n}})
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
