package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tasksapi/task"
	"tasksapi/webhook"
)

// wantInvalidOn fails unless err is a CodeInvalid error on field.
func wantInvalidOn(t *testing.T, err error, field string) {
	t.Helper()
	var e *task.Error
	if !errors.As(err, &e) || e.Code != task.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != field {
		t.Fatalf("got %v, want an invalid %s", err, field)
	}
}

func TestCreatingAWebhookRefusesUnsafeURLs(t *testing.T) {
	f := newFixture(t, testOptions())
	guarded := webhook.NewService(f.store, false, nil)
	tests := []struct {
		name string
		url  string
		want string // in the message
	}{
		{"a loopback address", "http://127.0.0.1/hook", "a loopback address"},
		{"another loopback address", "http://127.8.9.10:8080/hook", "a loopback address"},
		{"an RFC 1918 address", "http://10.0.0.1/hook", "a private address"},
		{"a 172.16/12 address", "https://172.16.5.4/hook", "a private address"},
		{"a 192.168/16 address", "https://192.168.1.1/hook", "a private address"},
		{"IPv6 loopback", "http://[::1]/hook", "a loopback address"},
		{"a unique local IPv6 address", "http://[fc00::1]/hook", "a private address"},
		{"the cloud metadata address", "http://169.254.169.254/latest/meta-data/", "a link-local address"},
		{"an IPv6 link-local address", "http://[fe80::1]/hook", "a link-local address"},
		{"a multicast address", "http://224.0.0.1/hook", "a multicast address"},
		{"the unspecified address", "http://0.0.0.0:8080/hook", "an unspecified address"},
		{"IPv6 unspecified", "http://[::]/hook", "an unspecified address"},
		{"loopback written as IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/hook", "a loopback address"},
		{"carrier-grade NAT's shared space", "http://100.100.100.200/hook", "a private address"},
		{"a host name that resolves to loopback", "http://localhost:8080/hook", "resolves to 127.0.0.1, a loopback address"},
		{"another scheme", "ftp://93.184.215.14/hook", "must use http or https"},
		{"no scheme", "93.184.215.14/hook", "must use http or https"},
		{"a user name and password", "https://user:secret@93.184.215.14/hook", "must not carry a user name or password"},
		{"a user name alone", "https://user@93.184.215.14/hook", "must not carry a user name or password"},
		{"no host", "https:///hook", "must name a host"},
		{"nothing", "  ", "is required"},
		{"an overlong URL", "https://93.184.215.14/" + strings.Repeat("a", webhook.MaxURLLength), "must be at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := guarded.Create(f.ctx, webhook.CreateInput{URL: tt.url})
			wantInvalidOn(t, err, "url")
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("the refusal says %q, want it to say %q", err, tt.want)
			}
		})
	}
	if hooks, _ := guarded.List(f.ctx); len(hooks) != 0 {
		t.Errorf("refused URLs left %d webhooks", len(hooks))
	}
}

func TestCreatingAWebhookAcceptsPublicAddresses(t *testing.T) {
	f := newFixture(t, testOptions())
	guarded := webhook.NewService(f.store, false, nil)
	for _, url := range []string{"https://93.184.215.14/hook", "http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/x?y=1"} {
		c, err := guarded.Create(f.ctx, webhook.CreateInput{URL: " " + url + " "})
		if err != nil {
			t.Errorf("Create(%q): %v", url, err)
			continue
		}
		if c.Webhook.URL != url {
			t.Errorf("stored %q, want %q, trimmed", c.Webhook.URL, url)
		}
	}
}

func TestAllowingPrivateAddressesLiftsOnlyTheAddressRule(t *testing.T) {
	f := newFixture(t, testOptions()) // its service allows private addresses
	for _, url := range []string{"http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.1/hook", "http://[::1]/"} {
		if _, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: url}); err != nil {
			t.Errorf("Create(%q) with private addresses allowed: %v", url, err)
		}
	}
	for _, url := range []string{"https://user:pw@127.0.0.1/hook", "file:///etc/passwd", "gopher://127.0.0.1/"} {
		_, err := f.svc.Create(f.ctx, webhook.CreateInput{URL: url})
		wantInvalidOn(t, err, "url")
	}
}

// TestDeliveryRefusesPrivateAddressesWhenItConnects creates webhooks whose
// URLs were allowed (as if a name resolved to a public address then) under
// a dispatcher that allows none: each attempt must be refused at connect
// time, without the receiver hearing of it.
func TestDeliveryRefusesPrivateAddressesWhenItConnects(t *testing.T) {
	opts := testOptions()
	opts.AllowPrivate = false
	f := newFixture(t, opts)
	rc := newReceiver(t, nil)
	port := rc.URL[strings.LastIndex(rc.URL, ":"):]
	tests := []struct {
		name, url, want string
	}{
		{"a loopback address", rc.URL, "refused to connect to 127.0.0.1: a loopback address"},
		{"a host name that resolves to loopback", "http://localhost" + port, "a loopback address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.addWebhook(t, tt.url).Webhook
			f.createTasks(t, 1)
			eventually(t, "a refused attempt", func() bool { return len(f.deliveries(t, w.ID)) > 0 })
			d := f.deliveries(t, w.ID)[0]
			if d.Error == nil || !strings.Contains(*d.Error, tt.want) || d.StatusCode != nil {
				t.Errorf("the attempt is %+v, want an error saying %q and no status", d, tt.want)
			}
			if err := f.svc.Delete(f.ctx, w.ID); err != nil {
				t.Fatal(err)
			}
		})
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("the receiver on loopback got %d requests", n)
	}
}

func TestARedirectIsAFailedAttemptAndIsNotFollowed(t *testing.T) {
	f := newFixture(t, testOptions())
	target := newReceiver(t, nil)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/hook", http.StatusFound)
	}))
	defer redirecting.Close()
	w := f.addWebhook(t, redirecting.URL).Webhook
	f.createTasks(t, 1)
	eventually(t, "two attempts", func() bool { return len(f.deliveries(t, w.ID)) >= 2 })
	for _, d := range f.deliveries(t, w.ID) {
		if d.StatusCode == nil || *d.StatusCode != http.StatusFound || d.Error == nil || !strings.Contains(*d.Error, "redirect") {
			t.Errorf("attempt %+v, want a failure answered 302 whose error names the redirect", d)
		}
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect was followed: its target got %d requests", n)
	}
	if got := f.webhook(t, w.ID); got.FailingSince == nil {
		t.Errorf("a webhook answered only by redirects is not failing: %+v", got)
	}
}
