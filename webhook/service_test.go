package webhook_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"tasksapi/feed"
	"tasksapi/task"
	"tasksapi/webhook"
)

func TestCreateReturnsTheWebhookAndItsSecret(t *testing.T) {
	f := newFixture(t, testOptions())
	desc := "billing sync"
	c, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: "http://127.0.0.1:9/hook", Description: &desc})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Secret, "whsec_") || c.Webhook.ID == 0 || *c.Webhook.Description != desc || !c.Webhook.Enabled {
		t.Errorf("Create returned %+v", c)
	}
	list, err := f.svc.List(f.ctx)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], c.Webhook) {
		t.Errorf("List = %+v (%v), want the created webhook", list, err)
	}
}

func TestTheServiceRefusesBadInputNamingTheField(t *testing.T) {
	f := newFixture(t, testOptions())
	w := f.addWebhook(t, "http://127.0.0.1:9/hook").Webhook
	long := strings.Repeat("é", webhook.MaxDescriptionLength+1)
	zero, negative := 0, -1
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"a description over the limit", func() error {
			_, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: "http://127.0.0.1:9/", Description: &long})
			return err
		}, "description"},
		{"deliveries, first 0", func() error { _, err := f.svc.Deliveries(f.ctx, w.ID, &zero); return err }, "first"},
		{"deliveries, first below 0", func() error { _, err := f.svc.Deliveries(f.ctx, w.ID, &negative); return err }, "first"},
		{"a replay after a negative seq", func() error { _, err := f.svc.Replay(f.ctx, w.ID, -1); return err }, "after"},
		{"a replay after a seq past 2^53 - 1", func() error { _, err := f.svc.Replay(f.ctx, w.ID, feed.MaxSeq+1); return err }, "after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantInvalidOn(t, tt.call(), tt.field)
		})
	}
}

func TestAnOrganisationsTwentyFirstWebhookIsRefused(t *testing.T) {
	f := newFixture(t, testOptions())
	for range webhook.MaxPerOrganisation {
		f.addWebhook(t, "http://127.0.0.1:9/hook")
	}
	_, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: "http://127.0.0.1:9/hook"})
	var e *task.Error
	if !errors.As(err, &e) || e.Code != task.CodeInvalid || !strings.Contains(err.Error(), "at most 20 webhooks") {
		t.Errorf("the 21st webhook: %v, want an invalid input saying an organisation has at most 20", err)
	}
}

func TestEnablingAnEnabledWebhookChangesNothing(t *testing.T) {
	f := newFixture(t, testOptions())
	w := f.addWebhook(t, "http://127.0.0.1:9/hook").Webhook
	got, err := f.svc.Enable(f.ctx, w.ID)
	if err != nil || !reflect.DeepEqual(got, w) {
		t.Errorf("Enable = %+v (%v), want %+v as it was", got, err, w)
	}
}

func TestAWebhookOfAnotherOrganisationIsMissingToTheService(t *testing.T) {
	f := newFixture(t, testOptions())
	w := f.addWebhook(t, "http://127.0.0.1:9/hook").Webhook
	globex := orgContext(t, f, "Globex")
	calls := map[string]func() error{
		"Webhook":    func() error { _, err := f.svc.Webhook(globex, w.ID); return err },
		"Deliveries": func() error { _, err := f.svc.Deliveries(globex, w.ID, nil); return err },
		"Enable":     func() error { _, err := f.svc.Enable(globex, w.ID); return err },
		"Replay":     func() error { _, err := f.svc.Replay(globex, w.ID, 0); return err },
		"Delete":     func() error { return f.svc.Delete(globex, w.ID) },
	}
	for name, call := range calls {
		if code := task.ErrorCode(call()); code != task.CodeNotFound {
			t.Errorf("%s of another organisation's webhook: %q, want not found", name, code)
		}
	}
}
