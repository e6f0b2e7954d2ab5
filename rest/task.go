package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"tasksapi/task"
)

// wireNames maps domain field names to the YSUITE names where they differ:
// every field of a task (title, status, priority and description are
// the same in both), and the list's filters.
var wireNames = map[string]string{
	"activityId":     "activity_id",
	"activityType":   "activity_type",
	"startDatetime":  "start_datetime",
	"endDatetime":    "end_datetime",
	"dueDate":        "due_date",
	"dealId":         "deal_id",
	"contactId":      "cstid",
	"assignedUserId": "assigned_user_id",
	"tagIds":         "tags",
	"createdAt":      "created_at",
	"updatedAt":      "updated_at",
	"completedAt":    "completed_at",
	"dueDateFrom":    "due_date_from",
	"dueDateTo":      "due_date_to",
}

func wireName(field string) string {
	if name, ok := wireNames[field]; ok {
		return name
	}
	return field
}

// sortFields are the accepted sortBy values.
var sortFields = map[string]task.SortField{
	"activity_id":    task.SortByID,
	"title":          task.SortByTitle,
	"status":         task.SortByStatus,
	"priority":       task.SortByPriority,
	"start_datetime": task.SortByStartDatetime,
	"end_datetime":   task.SortByEndDatetime,
	"due_date":       task.SortByDueDate,
	"created_at":     task.SortByCreatedAt,
	"updated_at":     task.SortByUpdatedAt,
}

func (a *API) listTasks(w http.ResponseWriter, r *http.Request) error {
	p, err := listParams(r.URL.RawQuery)
	if err != nil {
		return err
	}
	page, err := a.svc.ListTasks(r.Context(), p)
	if err != nil {
		return err
	}
	buf := bodies.Get().(*[]byte)
	defer putBody(buf)
	*buf = appendPageBody((*buf)[:0], page)
	writeBody(w, http.StatusOK, *buf)
	return nil
}

func (a *API) getTask(w http.ResponseWriter, r *http.Request) error {
	id, err := task.ParseID("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	unlessMatch, err := readTagList(r.Header, ifNoneMatch)
	if err != nil {
		return err
	}
	t, err := a.svc.Task(r.Context(), id)
	if err != nil {
		return err
	}
	if unlessMatch.matchesWeakly(t.Version) {
		// The client's copy is current: no body, and so no Content-Type.
		w.Header().Set("ETag", entityTag(t.Version))
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	writeTask(w, "", t)
	return nil
}

func (a *API) createTask(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeCreate(r)
	if err != nil {
		return err
	}
	t, err := a.svc.CreateTask(r.Context(), in)
	if err != nil {
		return err
	}
	writeTask(w, "Task activity created successfully.", t)
	return nil
}

func (a *API) updateTask(w http.ResponseWriter, r *http.Request) error {
	id, err := task.ParseID("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	condition, err := readTagList(r.Header, ifMatch)
	if err != nil {
		return err
	}
	in, err := decodeUpdate(r)
	if err != nil {
		return err
	}
	t, err := a.svc.UpdateTask(r.Context(), id, in, condition.expect())
	if err != nil {
		return condition.explainConflict(err)
	}
	writeTask(w, "Task activity updated successfully.", t)
	return nil
}

func (a *API) deleteTask(w http.ResponseWriter, r *http.Request) error {
	id, err := task.ParseID("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	condition, err := readTagList(r.Header, ifMatch)
	if err != nil {
		return err
	}
	t, err := a.svc.DeleteTask(r.Context(), id, condition.expect())
	if err != nil {
		return condition.explainConflict(err)
	}
	// No ETag: the task it would tag is gone.
	writeBody(w, http.StatusOK, appendDeletedBody(nil, "Task activity deleted successfully.", t.ID))
	return nil
}

// writeTask answers with one task and its entity tag.
func writeTask(w http.ResponseWriter, message string, t task.Task) {
	w.Header().Set("ETag", entityTag(t.Version))
	writeBody(w, http.StatusOK, appendTaskBody(nil, message, t))
}

// listParams reads the list query string. It only converts text to values;
// ranges, defaults and the rest are the domain's (task.ListParams.Query).
// An empty value is the same as no value.
func listParams(rawQuery string) (task.ListParams, error) {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return task.ListParams{}, task.Invalid("query", "could not be parsed: "+err.Error())
	}
	var (
		p    task.ListParams
		errs []task.FieldError
	)
	get := func(name string) (string, bool) {
		v := values.Get(name)
		return v, v != ""
	}
	integer := func(name, field string) *int {
		s, ok := get(name)
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			errs = append(errs, task.FieldError{Field: field, Message: "must be an integer"})
			return nil
		}
		return &n
	}
	date := func(name, field string) *task.Date {
		s, ok := get(name)
		if !ok {
			return nil
		}
		d, err := task.ParseDate(s)
		if err != nil {
			errs = append(errs, task.FieldError{Field: field, Message: err.Error()})
			return nil
		}
		return &d
	}

	p.PageSize = integer("pageSize", "pageSize")
	p.PageIndex = integer("pageIndex", "pageIndex")
	if s, ok := get("search"); ok {
		p.Filter.Search = &s
	}
	if n := integer("status", "status"); n != nil {
		s := task.Status(*n)
		p.Filter.Status = &s
	}
	if n := integer("priority", "priority"); n != nil {
		pr := task.Priority(*n)
		p.Filter.Priority = &pr
	}
	p.Filter.AssignedUserID = integer("assigned_user_id", "assignedUserId")
	p.Filter.DueDateFrom = date("due_date_from", "dueDateFrom")
	p.Filter.DueDateTo = date("due_date_to", "dueDateTo")
	if s, ok := get("sortBy"); ok {
		if f, known := sortFields[s]; known {
			p.SortBy = &f
		} else {
			errs = append(errs, task.FieldError{Field: "sortBy",
				Message: "must be one of activity_id, title, status, priority, start_datetime, end_datetime, due_date, created_at, updated_at"})
		}
	}
	if s, ok := get("sortOrder"); ok {
		switch o := strings.ToLower(s); o {
		case "asc", "desc":
			order := task.Asc
			if o == "desc" {
				order = task.Desc
			}
			p.SortOrder = &order
		default:
			errs = append(errs, task.FieldError{Field: "sortOrder", Message: "must be asc or desc"})
		}
	}
	if len(errs) > 0 {
		return task.ListParams{}, &task.Error{Code: task.CodeInvalid, Fields: errs}
	}
	return p, nil
}

// decodeCreate reads a create body. A field of the wrong JSON type is a
// validation error on that field; everything else about the values is left
// to task.NewTask. A null is the same as a field left out: it takes the
// default.
func decodeCreate(r *http.Request) (task.CreateInput, error) {
	p, unreadable, err := readTaskBody(r)
	if err != nil {
		return task.CreateInput{}, err
	}
	in := task.CreateInput{
		EndDatetime:    p.EndDatetime.Value,
		Description:    p.Description.Value,
		DealID:         p.DealID.Value,
		ContactID:      p.ContactID.Value,
		Priority:       p.Priority.Value,
		Status:         p.Status.Value,
		AssignedUserID: p.AssignedUserID.Value,
	}
	if p.Title.Value != nil {
		in.Title = *p.Title.Value
	}
	if p.StartDatetime.Value != nil {
		in.StartDatetime = *p.StartDatetime.Value
	}
	if p.TagIDs.Value != nil {
		in.TagIDs = *p.TagIDs.Value
	}

	if len(unreadable) > 0 {
		// Report the domain's rules too, except those on a field that
		// could not be read: they would only repeat its error.
		errs := unreadable[:len(unreadable):len(unreadable)]
		var te *task.Error
		if _, err := task.NewTask(in); errors.As(err, &te) {
			for _, fe := range te.Fields {
				if !mentionsAny(fe, unreadable) {
					errs = append(errs, fe)
				}
			}
		}
		return task.CreateInput{}, &task.Error{Code: task.CodeInvalid, Fields: errs}
	}
	return in, nil
}

// decodeUpdate reads a change's body: each field left out, null or a
// value. A field of the wrong JSON type is a validation error on that
// field; every other rule, null refused for a required field included, is
// the domain's (task.Task.Apply), which needs the stored task.
func decodeUpdate(r *http.Request) (task.UpdateInput, error) {
	in, unreadable, err := readTaskBody(r)
	if err != nil {
		return task.UpdateInput{}, err
	}
	if len(unreadable) > 0 {
		return task.UpdateInput{}, &task.Error{Code: task.CodeInvalid, Fields: unreadable}
	}
	return in, nil
}

// readTaskBody reads the writable fields of a task body, for a create and
// a change alike, each in its three states: left out, null, or a value.
// Each field's wire name and JSON type are read here and only here. A
// field of the wrong JSON type is left out of in and reported in
// unreadable. Unknown fields, the read-only ones among them, are ignored.
func readTaskBody(r *http.Request) (in task.UpdateInput, unreadable []task.FieldError, err error) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return in, nil, &httpError{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
	}
	body, err := readBody(r)
	if err != nil {
		return in, nil, err
	}
	var b taskBody
	if err := json.Unmarshal(body, &b.fields); err != nil || b.fields == nil {
		// Malformed rather than an HTTP refusal: it says something of the
		// request itself, so an Idempotency-Key keeps it.
		return in, nil, &task.Error{Code: task.CodeMalformed, Message: "Request body must be a JSON object"}
	}
	in.Title = field(&b, "title", "title", jsonString)
	in.StartDatetime = field(&b, "start_datetime", "startDatetime", jsonDateTime)
	in.EndDatetime = field(&b, "end_datetime", "endDatetime", jsonDateTime)
	in.Description = field(&b, "description", "description", jsonString)
	in.DealID = field(&b, "deal_id", "dealId", jsonInt)
	in.ContactID = field(&b, "cstid", "contactId", jsonInt)
	in.AssignedUserID = field(&b, "assigned_user_id", "assignedUserId", jsonInt)
	in.Priority = field(&b, "priority", "priority", jsonEnum[task.Priority])
	in.Status = field(&b, "status", "status", jsonEnum[task.Status])
	in.TagIDs = field(&b, "tags", "tagIds", jsonInts)
	return in, b.errs, nil
}

// taskBody is a JSON object body, its fields as sent, and the fields that
// could not be read.
type taskBody struct {
	fields map[string]json.RawMessage
	errs   []task.FieldError
}

// field reads the body's field name, the domain's field domain: left
// out, null, or a value that read converts. When read gives a message
// instead, the field is recorded as unreadable and left out.
func field[T any](b *taskBody, name, domain string, read func(json.RawMessage) (T, string)) task.Patch[T] {
	raw, ok := b.fields[name]
	switch {
	case !ok:
		return task.Keep[T]()
	case bytes.Equal(raw, []byte("null")):
		return task.Clear[T]()
	}
	v, msg := read(raw)
	if msg != "" {
		b.errs = append(b.errs, task.FieldError{Field: domain, Message: msg})
		return task.Keep[T]()
	}
	return task.To(v)
}

// The JSON types of the fields: each returns the value, or the message
// that says what the field must be.

func jsonString(raw json.RawMessage) (string, string) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", "must be a string"
	}
	return s, ""
}

func jsonDateTime(raw json.RawMessage) (task.DateTime, string) {
	s, msg := jsonString(raw)
	if msg != "" {
		return task.DateTime{}, msg
	}
	d, err := task.ParseDateTime(s)
	if err != nil {
		return task.DateTime{}, err.Error()
	}
	return d, ""
}

func jsonInt(raw json.RawMessage) (int, string) {
	if n, ok := asInt(decodeNumber(raw)); ok {
		return n, ""
	}
	return 0, "must be an integer"
}

// jsonEnum reads a status or priority: an integer, whose range is the
// domain's to check.
func jsonEnum[T ~int](raw json.RawMessage) (T, string) {
	n, msg := jsonInt(raw)
	return T(n), msg
}

func jsonInts(raw json.RawMessage) ([]int, string) {
	var values []any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&values) != nil {
		return nil, "must be an array of integers"
	}
	ids := make([]int, 0, len(values))
	for _, v := range values {
		id, ok := asInt(v)
		if !ok {
			return nil, "must be an array of integers"
		}
		ids = append(ids, id)
	}
	return ids, ""
}

// decodeNumber decodes raw keeping a number's text, so that asInt can
// tell 10 from 10.0 and 1e1; nil when raw is not JSON.
func decodeNumber(raw json.RawMessage) any {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return nil
	}
	return v
}

func mentionsAny(fe task.FieldError, errs []task.FieldError) bool {
	for _, e := range errs {
		if fe.Mentions(e.Field) {
			return true
		}
	}
	return false
}

// asInt accepts a JSON number (decoded with UseNumber) that is a whole
// number written without a fraction or exponent; a quoted number is a
// string, not an integer.
func asInt(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n.String())
	return i, err == nil
}
