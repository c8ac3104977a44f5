package web

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/auth"
	"sitroom/internal/httpx"
)

// Every signed-in page is live: it carries the outbox position it reflects
// (read when the request began, BEFORE the handler reads its data) and its
// script streams from there, so an alert committed between the render and
// the stream connection is replayed, never missed. The stream itself is
// shared by the browser's tabs (static/live.js elects one leader).

// keyStreamPos holds the hub position read when the request began.
const keyStreamPos ctxKey = 100

// withPosition records the hub's position in the request's context. It is
// called first thing by signedIn, before any store is read.
func (w *Web) withPosition(r *http.Request) *http.Request {
	if w.Hub == nil {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), keyStreamPos, w.Hub.Position()))
}

// positionOf is the position recorded for the request (or the hub's now).
func (w *Web) positionOf(r *http.Request) int64 {
	if p, ok := r.Context().Value(keyStreamPos).(int64); ok {
		return p
	}
	if w.Hub == nil {
		return 0
	}
	return w.Hub.Position()
}

// livePost is a post as the page's script needs it: to say where an alert
// is for and to show its deadline in the post's local time.
type livePost struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	TZ     string `json:"tz"`
	Offset int    `json:"offset"` // minutes east of UTC now (browsers without Intl zones)
}

// liveConfig is handed to static/live.js and static/alerting.js as JSON.
type liveConfig struct {
	Stream    string `json:"stream"`
	Heartbeat string `json:"heartbeat"`
	AlertsAPI string `json:"alerts_api"`
	Lang      string `json:"lang"`
	PersonID  string `json:"person_id"`
	Centre    bool   `json:"centre"`
	// Alerting: this user may have to acknowledge for a post, so an
	// incoming alert takes the screen and sound must be armed.
	Alerting bool `json:"alerting"`
	// DutyPosts are the posts where the user is on duty now; HeadPosts
	// those they head (escalation reaches them there).
	DutyPosts []livePost `json:"duty_posts"`
	HeadPosts []livePost `json:"head_posts"`
	// NextChange is when the user's duty changes next (ms since epoch; 0:
	// not within two days): the script asks again then.
	NextChange int64 `json:"next_change"`
	// Pending are the open alerts with a delivery of the user's posts that
	// nobody has acknowledged: they take the screen at once.
	Pending []*alert.Alert `json:"pending"`
	// Sound is the URL of the alarm; Silence of a silent sound that asks
	// the browser whether the page may play sound.
	Sound   string `json:"sound"`
	Silence string `json:"silence"`
	// Stale is how long (ms) without a heartbeat a post counts as not
	// connected.
	Stale int64             `json:"stale_ms"`
	Text  map[string]string `json:"text"`
}

// liveView is what the layout renders for the live script.
type liveView struct {
	Position int64
	Config   liveConfig
}

// postStale is how long a post may go unheard before the board shows it
// as not connected: three missed heartbeats (every 15 s) and a margin.
const postStale = 50 * time.Second

// liveFor builds the live part of a signed-in page.
func (w *Web) liveFor(r *http.Request, lang string) *liveView {
	a := actorOf(r)
	if a == nil {
		return nil
	}
	tr := w.tr(lang)
	cfg := liveConfig{
		Stream: "/api/v1/stream", Heartbeat: "/api/v1/heartbeat", AlertsAPI: "/api/v1/alerts/",
		Lang: lang, PersonID: a.PersonID, Centre: a.IsCentre(), DutyPosts: []livePost{}, HeadPosts: []livePost{},
		Pending: []*alert.Alert{}, Stale: postStale.Milliseconds(), Text: tr.prefixed("js."),
	}
	cfg.Sound, _ = w.assets.URL("alarm.wav")
	cfg.Silence, _ = w.assets.URL("silence.wav")
	if a.PersonID != "" && (a.Has(auth.PostOfficer) || a.Has(auth.PostHead)) {
		cfg.Alerting = true
		if err := w.dutyOf(r, lang, &cfg); err != nil {
			// The page still works; the script falls back to the
			// deliveries' own on-duty lists. Say so in the log.
			httpx.LoggerFrom(r.Context()).Warn("live: who is on duty", "err", err)
		}
	}
	return &liveView{Position: w.positionOf(r), Config: cfg}
}

// dutyOf fills the user's duty posts, head posts, next change and pending
// alerts.
func (w *Web) dutyOf(r *http.Request, lang string, cfg *liveConfig) error {
	ctx := r.Context()
	a := actorOf(r)
	now := w.Clock.Now()
	posts := map[string]*livePost{}
	postOf := func(id string) *livePost {
		if p, ok := posts[id]; ok {
			return p
		}
		lp := &livePost{ID: id, Code: id}
		if w.Directory != nil {
			if p, err := w.Directory.GetPost(ctx, id); err == nil {
				lp.Code, lp.Name, lp.TZ = p.Code, pick(lang, p.NameEN, p.NameRU), p.TZ
				lp.Offset = w.zoneNow(p.TZ).OffMin
			}
		}
		posts[id] = lp
		return lp
	}
	if w.Duty != nil {
		segs, err := w.Duty.PersonShifts(ctx, a.PersonID, now.Add(-time.Minute), now.Add(48*time.Hour))
		if err != nil {
			return err
		}
		var next time.Time
		seen := map[string]bool{}
		for _, s := range segs {
			if !s.Start.After(now) && s.End.After(now) {
				if !seen[s.PostID] {
					seen[s.PostID] = true
					cfg.DutyPosts = append(cfg.DutyPosts, *postOf(s.PostID))
				}
				if next.IsZero() || s.End.Before(next) {
					next = s.End
				}
			} else if s.Start.After(now) && (next.IsZero() || s.Start.Before(next)) {
				next = s.Start
			}
		}
		if !next.IsZero() {
			cfg.NextChange = next.UnixMilli()
		}
	}
	for _, g := range a.Grants {
		if g.Role == auth.PostHead && g.ScopeKind == auth.ScopePost {
			cfg.HeadPosts = append(cfg.HeadPosts, *postOf(g.ScopeID))
		}
	}
	if w.Alerts == nil || len(cfg.DutyPosts)+len(cfg.HeadPosts) == 0 {
		return nil
	}
	mine := map[string]bool{}
	for _, p := range cfg.DutyPosts {
		mine[p.ID] = true
	}
	for _, p := range cfg.HeadPosts {
		mine[p.ID] = true
	}
	open, _, err := w.Alerts.List(ctx, alert.ListOptions{State: alert.StateOpen, Limit: 50})
	if err != nil {
		return err
	}
	for _, al := range open {
		if al.Counts[alert.DAcknowledged] == sumCounts(al.Counts) {
			continue
		}
		full, err := w.Alerts.Get(ctx, al.ID)
		if err != nil {
			continue
		}
		var ds []alert.Delivery
		for _, d := range full.Deliveries {
			if mine[d.PostID] && d.AckedAt == nil && d.State != alert.DCancelled {
				d.Steps = nil
				ds = append(ds, d)
			}
		}
		if len(ds) > 0 {
			full.Deliveries = ds
			cfg.Pending = append(cfg.Pending, full)
		}
	}
	sort.Slice(cfg.Pending, func(i, j int) bool { return cfg.Pending[i].CreatedAt.Before(cfg.Pending[j].CreatedAt) })
	return nil
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// prefixed returns every text whose key starts with prefix, keyed by the
// rest of the key (the script's texts: "js.banner" → "banner").
func (tr translator) prefixed(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range tr.cat {
		if strings.HasPrefix(k, prefix) {
			out[strings.TrimPrefix(k, prefix)] = v
		}
	}
	return out
}
