package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// prepareViaAPI builds the fixture on a running server through its API, as
// an administrator would: a member state of its own (so the bench's alerts
// can be addressed to exactly its posts), a centre officer, and for every
// post the post, its officer (a user with post_officer on it), a token bound
// to it and a shift covering the run. Every record goes through the domain
// stores and the audit log, so this takes a while for thousands of posts
// (four audited writes each); the records stay (archive the member state
// afterwards).
func prepareViaAPI(ctx context.Context, c *Client, o Options, fo FixtureOptions) (*Fixture, error) {
	var me struct {
		Login string   `json:"login"`
		Roles []string `json:"roles"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/me", o.Token, nil, &me); err != nil {
		return nil, fmt.Errorf("--token: %w", err)
	}
	isAdmin := false
	for _, r := range me.Roles {
		isAdmin = isAdmin || r == "admin"
	}
	if !isAdmin {
		return nil, fmt.Errorf("--token belongs to %s, who is not an administrator (roles %v): setting the bench up needs one", me.Login, me.Roles)
	}
	// Every officer needs a token of their own, which only an
	// administrator's session may create for them: the API refuses a token
	// that would mint tokens (users.CreateToken), by design. Ask once,
	// before creating anything, so a refusal leaves nothing behind.
	var probe struct {
		ID string `json:"id"`
	}
	err := c.Do(ctx, "POST", "/api/v1/tokens", o.Token, map[string]string{"name": "sitroom bench probe"}, &probe)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		return nil, fmt.Errorf("--url cannot set the bench up: the API does not let an API token create tokens (%s), "+
			"and each of the post officers needs one of their own; use --db (a new database; the bench runs the server itself)", strings.TrimSpace(ae.Body))
	} else if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	_ = c.Do(ctx, "DELETE", "/api/v1/tokens/"+probe.ID, o.Token, nil, nil)
	// The server's "now": its test clock in test mode, else the wall clock.
	now := func() time.Time { return time.Now().UTC() }
	var tc struct {
		Now time.Time `json:"now"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/test/clock", o.Token, nil, &tc); err == nil {
		now = func() time.Time { return tc.Now.UTC() } // a test clock stands still
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	tag := hex.EncodeToString(b)
	f := &Fixture{At: now(), Admin: Account{Login: me.Login, Token: o.Token}}

	// A member state with a free user-assigned ISO code (XA…XZ).
	for l := 'A'; l <= 'Z' && f.StateCode == ""; l++ {
		code := "X" + string(l)
		var st struct {
			ID string `json:"id"`
		}
		err := c.Do(ctx, "POST", "/api/v1/member-states", o.Token, map[string]string{
			"code": code, "name_en": "Bench " + tag, "name_ru": "Бенч " + tag, "tz": "UTC"}, &st)
		switch {
		case err == nil:
			f.StateCode, f.StateID = code, st.ID
		case errors.As(err, &ae) && (ae.Status == http.StatusConflict || ae.Status == http.StatusUnprocessableEntity):
			continue
		default:
			return nil, fmt.Errorf("create the bench's member state: %w", err)
		}
	}
	if f.StateCode == "" {
		return nil, fmt.Errorf("no free member-state code XA…XZ for the bench")
	}
	o.progress("member state %s created for the bench (tag %s); setting up %d posts through the API…", f.StateCode, tag, fo.Posts)

	centre, _, err := apiUser(ctx, c, o.Token, "bench-"+tag+"-centre@bench.invalid", "Bench centre "+tag, "centre_officer", "")
	if err != nil {
		return nil, err
	}
	f.Centre = centre

	f.Posts = make([]Officer, fo.Posts)
	var next, done atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				mu.Lock()
				stop := i >= len(f.Posts) || firstErr != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := apiOfficer(ctx, c, o.Token, f, tag, i, now); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if n := done.Add(1); n%1000 == 0 {
					o.progress("  %d posts set up (%s)", n, time.Since(start).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return f, nil
}

// apiUser creates a user with one grant and a token (bound to post when
// not empty), returning the account and the user's person id.
func apiUser(ctx context.Context, c *Client, admin, login, name, grant, post string) (Account, string, error) {
	var u struct {
		ID       string `json:"id"`
		PersonID string `json:"person_id"`
	}
	if err := c.Do(ctx, "POST", "/api/v1/users", admin, map[string]any{"login": login, "name_en": name, "grants": []string{grant}}, &u); err != nil {
		return Account{}, "", fmt.Errorf("create user %s: %w", login, err)
	}
	body := map[string]string{"user": login, "name": "bench"}
	if post != "" {
		body["post"] = post
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := c.Do(ctx, "POST", "/api/v1/tokens", admin, body, &tok); err != nil {
		return Account{}, "", fmt.Errorf("token for %s: %w", login, err)
	}
	return Account{Login: login, UserID: u.ID, Token: tok.Token}, u.PersonID, nil
}

func apiOfficer(ctx context.Context, c *Client, admin string, f *Fixture, tag string, i int, now func() time.Time) error {
	p := &f.Posts[i]
	p.PostCode = fmt.Sprintf("B%s-%05d", strings.ToUpper(tag), i+1)
	var post struct {
		ID string `json:"id"`
	}
	if err := c.Do(ctx, "POST", "/api/v1/posts", admin, map[string]string{"code": p.PostCode, "kind": "ministry",
		"name_en": "Bench post " + p.PostCode, "name_ru": "Пост " + p.PostCode, "state": f.StateCode,
		"ministry_kind": "emergency", "tz": "UTC"}, &post); err != nil {
		return fmt.Errorf("create post %s: %w", p.PostCode, err)
	}
	p.PostID = post.ID
	acc, person, err := apiUser(ctx, c, admin, fmt.Sprintf("officer-%s-%05d@bench.invalid", tag, i+1), "Officer "+p.PostCode,
		"post_officer:"+p.PostCode, p.PostCode)
	if err != nil {
		return err
	}
	p.Account, p.PersonID = acc, person
	start := now()
	if err := c.Do(ctx, "POST", "/api/v1/shifts", admin, map[string]any{"post_id": p.PostID, "person_id": person, "slot": "primary",
		"start": start, "end": start.Add(24 * time.Hour), "note": "sitroom bench"}, nil); err != nil {
		return fmt.Errorf("shift at %s: %w", p.PostCode, err)
	}
	p.OnDuty = true
	return nil
}
