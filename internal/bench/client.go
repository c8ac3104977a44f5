package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls the JSON API.
type Client struct {
	URL string // e.g. http://127.0.0.1:8080, no trailing slash
	HC  *http.Client
}

// NewClient returns a client keeping up to conns connections open.
func NewClient(url string, conns int) *Client {
	t := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true}
	return &Client{URL: strings.TrimRight(url, "/"), HC: &http.Client{Transport: t, Timeout: 60 * time.Second}}
}

// APIError is an answer other than the one expected.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	b := e.Body
	if len(b) > 400 {
		b = b[:400] + "…"
	}
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, strings.TrimSpace(b))
}

// Do sends body (JSON, unless nil) with the bearer token and decodes a
// 2xx answer into out (unless nil). Any other status is an *APIError.
func (c *Client) Do(ctx context.Context, method, path, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, r)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.HC.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: res.StatusCode, Body: string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// SentAlert is what the bench reads of a created alert.
type SentAlert struct {
	ID         string    `json:"id"`
	DeadlineAt time.Time `json:"deadline_at"`
	Recipients int       `json:"recipients"`
}

// AlertRequest is the body of POST /api/v1/alerts.
type AlertRequest struct {
	Title            string         `json:"title"`
	Body             string         `json:"body"`
	Priority         string         `json:"priority"`
	AckWithinSeconds int            `json:"ack_within_seconds"`
	Exercise         bool           `json:"exercise"`
	Targets          map[string]any `json:"targets"`
}

// SendAlert creates an alert addressed to every post of the fixture's
// member state (which, in a store Prepare filled, is every post).
func (c *Client) SendAlert(ctx context.Context, token string, f *Fixture, title string, ackWithin int) (*SentAlert, error) {
	var a SentAlert
	err := c.Do(ctx, "POST", "/api/v1/alerts", token, AlertRequest{Title: title, Body: "sitroom bench", Priority: "routine",
		AckWithinSeconds: ackWithin, Exercise: true, Targets: map[string]any{"states": []string{f.StateCode}}}, headOf(&a))
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// headOf decodes an alert's own fields and stops at its deliveries: the
// answer to an alert to 10,000 posts is megabytes of them, and decoding
// those would make the load generator measure itself.
type alertHead struct{ a *SentAlert }

func headOf(a *SentAlert) *alertHead { return &alertHead{a} }

func (h *alertHead) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("an alert: not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		var v any
		switch t {
		case "id":
			v = &h.a.ID
		case "deadline_at":
			v = &h.a.DeadlineAt
		case "recipients":
			v = &h.a.Recipients
		case "deliveries":
			return nil
		default:
			v = new(json.RawMessage)
		}
		if err := dec.Decode(v); err != nil {
			return err
		}
	}
	return nil
}

// Ack acknowledges alertID for postID with a token bound to that post.
func (c *Client) Ack(ctx context.Context, token, alertID, postID string) error {
	return c.Do(ctx, "POST", "/api/v1/alerts/"+alertID+"/ack", token, map[string]string{"post_id": postID}, nil)
}

// MoveClock moves a test-mode server's clock (administrators only):
// exactly one of advance (a Go duration) and set (RFC 3339).
func (c *Client) MoveClock(ctx context.Context, token, advance string, set time.Time) (time.Time, error) {
	body := map[string]string{}
	if advance != "" {
		body["advance"] = advance
	} else {
		body["set"] = set.UTC().Format(time.RFC3339Nano)
	}
	var out struct {
		Now time.Time `json:"now"`
	}
	err := c.Do(ctx, "POST", "/api/v1/test/clock", token, body, &out)
	return out.Now, err
}

// Metrics reads the named series (without labels) from the server's
// Prometheus endpoint.
func (c *Client) Metrics(ctx context.Context, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.URL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	res, err := c.HC.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, " ")
		if !ok || !want[k] {
			continue
		}
		var f float64
		if _, err := fmt.Sscan(v, &f); err == nil {
			out[k] = f
		}
	}
	return out, nil
}
