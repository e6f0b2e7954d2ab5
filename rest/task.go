package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"tasksapi/task"
)

// wireNames maps domain field names to the YSUITE names where they differ.
var wireNames = map[string]string{
	"startDatetime":  "start_datetime",
	"endDatetime":    "end_datetime",
	"dealId":         "deal_id",
	"contactId":      "cstid",
	"assignedUserId": "assigned_user_id",
	"tagIds":         "tags",
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
	t, err := a.svc.Task(r.Context(), id)
	if err != nil {
		return err
	}
	writeBody(w, http.StatusOK, appendTaskBody(nil, "", t))
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
	writeBody(w, http.StatusOK, appendTaskBody(nil, "Task activity created successfully.", t))
	return nil
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
// to task.NewTask. Unknown fields, activity_type among them, are ignored.
func decodeCreate(r *http.Request) (task.CreateInput, error) {
	var in task.CreateInput
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return in, &httpError{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(r.Body) // capped at MaxBodyBytes by the server, for every route
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return in, &httpError{http.StatusRequestEntityTooLarge, BodyTooLargeMessage}
	}
	if err != nil {
		return in, &httpError{http.StatusBadRequest, "Request body could not be read"}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return in, &httpError{http.StatusBadRequest, "Request body must be a JSON object"}
	}

	var errs []task.FieldError
	// decode sets *dst from the body's field name when it is present and
	// not null, recording a type error otherwise.
	decode := func(name, field, want string, dst any) bool {
		raw, ok := fields[name]
		if !ok || bytes.Equal(raw, []byte("null")) {
			return false
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil {
			errs = append(errs, task.FieldError{Field: field, Message: "must be " + want})
			return false
		}
		return true
	}
	integer := func(name, field string) *int {
		var v any
		if !decode(name, field, "an integer", &v) {
			return nil
		}
		n, ok := asInt(v)
		if !ok {
			errs = append(errs, task.FieldError{Field: field, Message: "must be an integer"})
			return nil
		}
		return &n
	}
	dateTime := func(name, field string) *task.DateTime {
		var s string
		if !decode(name, field, "a string", &s) {
			return nil
		}
		d, err := task.ParseDateTime(s)
		if err != nil {
			errs = append(errs, task.FieldError{Field: field, Message: err.Error()})
			return nil
		}
		return &d
	}

	decode("title", "title", "a string", &in.Title)
	if d := dateTime("start_datetime", "startDatetime"); d != nil {
		in.StartDatetime = *d
	}
	in.EndDatetime = dateTime("end_datetime", "endDatetime")
	var description string
	if decode("description", "description", "a string", &description) {
		in.Description = &description
	}
	in.DealID = integer("deal_id", "dealId")
	in.ContactID = integer("cstid", "contactId")
	in.AssignedUserID = integer("assigned_user_id", "assignedUserId")
	if n := integer("priority", "priority"); n != nil {
		p := task.Priority(*n)
		in.Priority = &p
	}
	if n := integer("status", "status"); n != nil {
		s := task.Status(*n)
		in.Status = &s
	}
	var tags []any
	if decode("tags", "tagIds", "an array of integers", &tags) {
		for _, v := range tags {
			id, ok := asInt(v)
			if !ok {
				errs = append(errs, task.FieldError{Field: "tagIds", Message: "must be an array of integers"})
				break
			}
			in.TagIDs = append(in.TagIDs, id)
		}
	}

	if len(errs) > 0 {
		// Report the domain's rules too, except those on a field that
		// could not be read: they would only repeat its error.
		unreadable := errs[:len(errs):len(errs)]
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
