package storetest

import (
	"errors"
	"slices"
	"testing"

	"tasksapi/access"
	"tasksapi/task"
)

var organisationTests = []test{
	{"AnOrganisationSeesOnlyItsOwnTasks", anOrganisationSeesOnlyItsOwnTasks},
	{"AStoreCallWithoutAPrincipalFailsAndStoresNothing", aStoreCallWithoutAPrincipalFailsAndStoresNothing},
	{"CreateKeyCreatesEachOrganisationOnce", createKeyCreatesEachOrganisationOnce},
}

func anOrganisationSeesOnlyItsOwnTasks(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	globex := OrgContext(t, s, "Globex")
	if OrgID(t, acme) == OrgID(t, globex) {
		t.Fatalf("Acme and Globex share organisation id %d", OrgID(t, acme))
	}

	// Globex's tasks are created before and after Acme's, so the ids
	// interleave, and look like Acme's, so every filter could match both.
	globexIDs := map[string]int{}
	createGlobex := func(key, title string, status task.Status, priority task.Priority, user int, start string) {
		in := task.CreateInput{Title: title, StartDatetime: DT(t, start), DealID: Ptr(1),
			Status: Ptr(status), Priority: Ptr(priority), AssignedUserID: Ptr(user)}
		globexIDs[key] = MustCreate(t, globex, s, in).ID
	}
	createGlobex("g-ete", "Été planning at Globex", 0, 2, 1, "2026-03-01T09:00:00")
	acmeIDs := filterFixture(t, acme, s)
	createGlobex("g-snake", "snake_case at Globex", 4, 0, 2, "2026-03-05T08:00:00")

	isAcme := map[int]bool{}
	for _, id := range acmeIDs {
		isAcme[id] = true
	}

	t.Run("getting another organisation's task is not found, like a missing id", func(t *testing.T) {
		_, missingErr := s.Task(globex, 999_999)
		missing := WantCode(t, missingErr, task.CodeNotFound)
		for key, id := range acmeIDs {
			_, err := s.Task(globex, id)
			e := WantCode(t, err, task.CodeNotFound)
			if e.Message != missing.Message {
				t.Errorf("Globex getting Acme's %s task: message %q, want %q as for a missing id", key, e.Message, missing.Message)
			}
		}
		for key, id := range globexIDs {
			_, err := s.Task(acme, id)
			WantCode(t, err, task.CodeNotFound)
			if got, err := s.Task(globex, id); err != nil || got.ID != id {
				t.Errorf("Globex getting its own %s task %d = %d, %v; want it", key, id, got.ID, err)
			}
		}
	})

	tests := []struct {
		name string
		f    task.Filter
		want []string // Globex's keys, in id order
	}{
		{"no filter lists only the organisation's tasks", task.Filter{}, []string{"g-ete", "g-snake"}},
		{"a search matching both organisations' titles lists only the organisation's", task.Filter{Search: Ptr("été")}, []string{"g-ete"}},
		{"a search for another organisation's title alone lists nothing", task.Filter{Search: Ptr("percent")}, nil},
		{"a status filter lists only the organisation's", task.Filter{Status: Ptr(task.Status(0))}, []string{"g-ete"}},
		{"a priority filter lists only the organisation's", task.Filter{Priority: Ptr(task.Priority(0))}, []string{"g-snake"}},
		{"an assigned user filter lists only the organisation's", task.Filter{AssignedUserID: Ptr(1)}, []string{"g-ete"}},
		{"a due date range lists only the organisation's", task.Filter{
			DueDateFrom: Ptr(Date(t, "2026-03-01")), DueDateTo: Ptr(Date(t, "2026-03-05"))}, []string{"g-ete", "g-snake"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := MustList(t, globex, s, task.ListParams{Filter: tt.f, PageSize: Ptr(100), SortBy: Ptr(task.SortByID)})
			want := []int{}
			for _, k := range tt.want {
				want = append(want, globexIDs[k])
			}
			if got := IDs(page.Items); !slices.Equal(got, want) {
				t.Errorf("Globex's ids = %v, want %v (%v)", got, want, tt.want)
			}
			if page.TotalRecords != len(want) {
				t.Errorf("Globex's TotalRecords = %d, want %d", page.TotalRecords, len(want))
			}

			acmePage := MustList(t, acme, s, task.ListParams{Filter: tt.f, PageSize: Ptr(100)})
			for _, it := range acmePage.Items {
				if !isAcme[it.ID] {
					t.Errorf("Acme's list holds task %d, which is not Acme's", it.ID)
				}
			}
			if acmePage.TotalRecords != len(acmePage.Items) {
				t.Errorf("Acme's TotalRecords = %d, but it lists %d tasks", acmePage.TotalRecords, len(acmePage.Items))
			}
		})
	}

	t.Run("paging counts only the organisation's tasks", func(t *testing.T) {
		page := MustList(t, globex, s, task.ListParams{PageSize: Ptr(1), PageIndex: Ptr(1)})
		if page.TotalRecords != 2 || page.TotalPages() != 2 {
			t.Errorf("TotalRecords, TotalPages = %d, %d; want 2, 2", page.TotalRecords, page.TotalPages())
		}
		if got, want := IDs(page.Items), []int{globexIDs["g-ete"]}; !slices.Equal(got, want) {
			t.Errorf("second page of one, newest first = %v, want %v", got, want)
		}
		if page := MustList(t, globex, s, task.ListParams{PageSize: Ptr(1), PageIndex: Ptr(2)}); len(page.Items) != 0 {
			t.Errorf("third page of one = %v, want nothing: Acme's tasks must not fill it", IDs(page.Items))
		}
	})

	t.Run("an organisation without tasks lists nothing", func(t *testing.T) {
		page := MustList(t, OrgContext(t, s, "Initech"), s, task.ListParams{})
		if page.TotalRecords != 0 || len(page.Items) != 0 {
			t.Errorf("Initech lists %v with %d records, want nothing", IDs(page.Items), page.TotalRecords)
		}
	})
}

func aStoreCallWithoutAPrincipalFailsAndStoresNothing(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	acme := OrgContext(t, s, "Acme")
	in := Simple(t, "Acme's")
	in.TagIDs = []int{4, 2}
	existing := MustCreate(t, acme, s, in)

	noPrincipal := t.Context()
	unknownOrg := access.WithPrincipal(t.Context(), access.Principal{OrganisationID: OrgID(t, acme) + 1000, KeyID: 1})
	withTags := Simple(t, "sneaked in")
	withTags.TagIDs = []int{7, 8}

	tests := []struct {
		name string
		call func() error
	}{
		{"creating a task without a principal fails", func() error {
			_, err := s.CreateTask(noPrincipal, withTags)
			return err
		}},
		{"creating an invalid task without a principal fails as internal, not as invalid", func() error {
			_, err := s.CreateTask(noPrincipal, task.CreateInput{})
			return err
		}},
		{"getting an existing task without a principal fails", func() error {
			_, err := s.Task(noPrincipal, existing.ID)
			return err
		}},
		{"getting a missing task without a principal fails as internal, not as not found", func() error {
			_, err := s.Task(noPrincipal, existing.ID+1)
			return err
		}},
		{"listing without a principal fails", func() error {
			_, err := s.ListTasks(noPrincipal, task.ListParams{})
			return err
		}},
		{"listing with bad parameters without a principal fails as internal", func() error {
			_, err := s.ListTasks(noPrincipal, task.ListParams{PageSize: Ptr(0)})
			return err
		}},
		{"creating a task for an organisation that does not exist fails", func() error {
			_, err := s.CreateTask(unknownOrg, withTags)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatalf("got no error, want one")
			}
			var e *task.Error
			if errors.As(err, &e) || task.ErrorCode(err) != task.CodeInternal {
				t.Errorf("error %v (code %q) is a *task.Error; want an internal error, which is never shown to a client",
					err, task.ErrorCode(err))
			}
		})
	}

	if n := MustList(t, acme, s, task.ListParams{}).TotalRecords; n != 1 {
		t.Errorf("the organisation holds %d tasks, want only the 1 created with a principal", n)
	}
	if page, err := s.ListTasks(unknownOrg, task.ListParams{}); err == nil && page.TotalRecords != 0 {
		t.Errorf("the organisation that does not exist holds %d tasks, want none", page.TotalRecords)
	}
}

func createKeyCreatesEachOrganisationOnce(t *testing.T, h Harness) {
	s, _, _ := h.New(t)
	ctx := t.Context()
	create := func(org, accessKey string) access.Credentials {
		t.Helper()
		creds, err := s.CreateKey(ctx, org, "label", accessKey, []byte("hash of "+accessKey))
		if err != nil {
			t.Fatalf("CreateKey(%q, %q): %v", org, accessKey, err)
		}
		if creds.OrganisationID < 1 || creds.KeyID < 1 || creds.AccessKey != accessKey {
			t.Errorf("CreateKey(%q, %q) = %+v, want positive ids and the access key", org, accessKey, creds)
		}
		if creds.SecretKey != "" {
			t.Errorf("CreateKey returned secret %q; the store never has one", creds.SecretKey)
		}
		return creds
	}
	first := create("Acme", "ak_1")
	second := create("Acme", "ak_2")
	other := create("Globex", "ak_3")

	if first.OrganisationID != second.OrganisationID {
		t.Errorf("two keys for Acme have organisations %d and %d, want the same", first.OrganisationID, second.OrganisationID)
	}
	if first.KeyID == second.KeyID {
		t.Errorf("two keys share the key id %d", first.KeyID)
	}
	if other.OrganisationID == first.OrganisationID {
		t.Errorf("Globex got Acme's organisation id %d, want a new one", other.OrganisationID)
	}
	for name, want := range map[string]int{"Acme": first.OrganisationID, "Globex": other.OrganisationID} {
		if id, err := s.Organisation(ctx, name); err != nil || id != want {
			t.Errorf("Organisation(%q) = %d, %v; want the %d its keys were given", name, id, err, want)
		}
	}

	_, err := s.CreateKey(ctx, "Initech", "label", "ak_1", []byte("another hash"))
	if err == nil {
		t.Errorf("CreateKey with an access key already in use succeeded, want an error")
	}
}
