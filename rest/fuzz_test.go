package rest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"tasksapi/access"
)

// checkEnvelope fails unless rec holds a JSON envelope with one of the
// allowed statuses, success exactly when the status is 200.
func checkEnvelope(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	var env struct {
		Success *bool  `json:"success"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil {
		t.Fatalf("status %d, body is not the envelope: %q", rec.Code, rec.Body.String())
	}
	for _, status := range allowed {
		if rec.Code == status {
			if *env.Success != (status == http.StatusOK) || (status != http.StatusOK && env.Message == "") {
				t.Fatalf("status %d with success=%v message=%q", rec.Code, *env.Success, env.Message)
			}
			return
		}
	}
	t.Fatalf("status %d (%s), want one of %v", rec.Code, rec.Body.String(), allowed)
}

func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"", "pageSize=5&pageIndex=2", "pageSize=0", "pageSize=999999999999999999999", "pageIndex=9223372036854775807",
		"search=%25_%5C&status=1&priority=4", "status=1;priority=2", "search=%zz", "assigned_user_id=-1",
		"due_date_from=2026-02-29&due_date_to=2026-01-01", "due_date_to=0000-00-00", "sortBy=title&sortOrder=DeSc",
		"sortBy=title%00", "status=&priority=", "search=%F0%9F%98%80", "a=1&a=2&status=x&status=1",
	} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	h, creds := a.handler, a.creds
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/tasks", nil)
		req.URL.RawQuery = rawQuery
		authorize(req, creds)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusOK, http.StatusUnprocessableEntity)
	})
}

func FuzzChangesQuery(f *testing.F) {
	for _, seed := range []string{
		"", "after=0&limit=1", "after=9007199254740991", "after=9007199254740992", "after=-1", "after=+5", "after=1e3",
		"limit=0", "limit=1000", "limit=99999999999999999999", "after=&limit=", "after=1;limit=2", "after=%zz",
		"after=1&after=x", "limit=%F0%9F%98%80", "after=0x10",
	} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	createTask(f, a)
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/tasks/changes", nil)
		req.URL.RawQuery = rawQuery
		authorize(req, a.creds)
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusOK, http.StatusUnprocessableEntity)
	})
}

func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		valid, `{}`, `[]`, `null`, `"x"`, `{"title":1}`, `{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1e400}`,
		`{"title":"t","start_datetime":"2026-07-15T10:00:00","tags":[1,1,1,-1]}`, `{"title":"` + strings.Repeat("é", 151) + `"}`,
		`{"title":"t","start_datetime":"2026-07-15T10:00:00","deal_id":9223372036854775808}`, `{"title":"\u0000"}`,
		`{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1,"end_datetime":"2026-07-15T09:00:00"}`,
		`{"title":"t","start_datetime":"2026-07-15T10:00:00","cstid":1}{`, "\xff\xfe", `{"tags":{"a":1}}`,
	} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	h, creds := a.handler, a.creds
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/tasks", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		authorize(req, creds)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusOK, http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge)
	})
}

func FuzzUpdateBody(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"title":"Call back"}`, `{"title":null}`, `{"start_datetime":null,"status":null,"priority":null}`,
		`{"end_datetime":null,"description":null,"deal_id":null,"assigned_user_id":null,"tags":null}`,
		`{"deal_id":null,"cstid":null}`, `{"end_datetime":"2000-01-01T00:00:00"}`, `{"start_datetime":"9999-12-31T23:59:59"}`,
		`{"status":2}`, `{"status":9,"priority":-1}`, `{"tags":[1,1,-1]}`, `{"tags":{"a":1}}`, `{"cstid":1e400}`,
		`{"deal_id":9223372036854775808}`, `{"title":"` + strings.Repeat("é", 151) + `"}`, `{"version":2,"activity_id":"x"}`,
		`[]`, `null`, `"x"`, `{`, `{}{}`, "\xff\xfe", "",
	} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	id := createTask(f, a)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPatch, "/v1/tasks/"+id, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		authorize(req, a.creds)
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusOK, http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge)
	})
}

func FuzzIfMatch(f *testing.F) {
	for _, seed := range []string{
		`"1"`, `*`, `W/"1"`, `"1", "2"`, ` , "1" ,, `, `,`, ``, `"1`, `1`, `*, "1"`, `"1" "2"`, `w/"1"`, `W/`, `""`,
		`"\x80\xff"`, "\"a\tb\"", `"1",*`, `W/W/"1"`,
	} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	id := createTask(f, a)
	f.Fuzz(func(t *testing.T, ifMatch string) {
		req := httptest.NewRequest(http.MethodPatch, "/v1/tasks/"+id, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", ifMatch)
		authorize(req, a.creds)
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusOK, http.StatusPreconditionFailed, http.StatusUnprocessableEntity)
	})
}

// createTask creates a task through the handler and returns its id.
func createTask(tb testing.TB, a api) string {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/tasks", strings.NewReader(valid))
	req.Header.Set("Content-Type", "application/json")
	authorize(req, a.creds)
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	var created struct {
		Data struct {
			ID int `json:"activity_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || rec.Code != http.StatusOK {
		tb.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	return strconv.Itoa(created.Data.ID)
}

func FuzzTaskPath(f *testing.F) {
	for _, seed := range []string{"1", "0", "-1", "01", "+1", "abc", "1.5", "99999999999999999999", "%00", ".", "..", ""} {
		f.Add(seed)
	}
	a := newHandler(f, nil, 0)
	h, creds := a.handler, a.creds
	f.Fuzz(func(t *testing.T, id string) {
		req, err := http.NewRequest(http.MethodGet, "/v1/tasks/"+id, nil)
		if err != nil || strings.ContainsAny(id, "/?#") {
			return // not a single path segment
		}
		authorize(req, creds)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkEnvelope(t, rec, http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusNotFound)
	})
}

func authorize(req *http.Request, creds access.Credentials) {
	req.Header.Set(access.AccessKeyHeader, creds.AccessKey)
	req.Header.Set(access.SecretKeyHeader, creds.SecretKey)
}
