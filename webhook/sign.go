package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tasksapi/feed"
)

// The headers of the Standard Webhooks specification.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a Standard Webhooks secret; what follows is the key,
// in base64.
const secretPrefix = "whsec_"

// NewSecret returns a new signing secret: whsec_ and base64 of 32 random
// bytes, the key length HMAC-SHA256 works best with.
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails: see crypto/rand
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// MessageID is the webhook-id of a change sent to a webhook: the same on
// every attempt and replay of that change to that webhook, and never the
// same for another (webhook ids are never given twice), so a receiver can
// drop what it has already handled.
func MessageID(webhookID int, seq int64) string {
	return "msg_" + strconv.Itoa(webhookID) + "_" + strconv.FormatInt(seq, 10)
}

// Sign returns the webhook-signature of a message: v1, and base64 of
// HMAC-SHA256 under the secret's key of "<id>.<timestamp>.<body>".
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("the webhook's secret is not whsec_ and base64")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, at.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// setSignature sets the three signature headers of a message sent at at.
func setSignature(h http.Header, secret, id string, at time.Time, body []byte) error {
	sig, err := Sign(secret, id, at, body)
	if err != nil {
		return err
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, sig)
	return nil
}

// Payload is the body sent for a change:
// {"type":"task.<type>","timestamp":"<commit time, RFC 3339 UTC>","data":<the change>},
// where the change is encode's form of it: the REST form, as
// GET /v1/tasks/changes has it.
func Payload(c *feed.Change, encode func(*feed.Change) []byte) []byte {
	data := c.Wire(encode)
	b := make([]byte, 0, len(data)+80)
	b = append(b, `{"type":"task.`...)
	b = append(b, c.Type.String()...)
	b = append(b, `","timestamp":"`...)
	b = c.At.Time().UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","data":`...)
	// A trailing newline, as a body writer may add, is not part of the value.
	b = append(b, bytes.TrimRight(data, "\r\n\t ")...)
	return append(b, '}')
}
