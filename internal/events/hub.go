package events

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Scope is the set of posts (and their states) an audience such as
// alert:<id> or post:<id> covers.
type Scope struct {
	Posts  map[string]bool
	States map[string]bool
}

// Resolver tells which posts an audience covers. The app plugs in the
// domain's answer (e.g. the posts an alert addresses).
type Resolver func(ctx context.Context, kind, id string) (Scope, error)

// Viewer is what a stream's user may see, computed once at subscribe time.
type Viewer struct {
	UserID string
	Centre bool            // centre roles: every operational event
	Posts  map[string]bool // posts the user acts for
	States map[string]bool // member states the user's scoped roles cover
}

// ViewerOf derives the viewer of an actor from its grants.
func ViewerOf(a *auth.Actor) Viewer {
	v := Viewer{Posts: map[string]bool{}, States: map[string]bool{}}
	if a == nil {
		return v
	}
	v.UserID = a.UserID
	v.Centre = a.IsCentre()
	for _, g := range a.Grants {
		switch g.ScopeKind {
		case auth.ScopePost:
			v.Posts[g.ScopeID] = true
		case auth.ScopeState:
			v.States[g.ScopeID] = true
		}
	}
	return v
}

// sees tells whether v may receive an event for audience kind/id whose scope is s.
func (v *Viewer) sees(kind, id string, s *Scope) bool {
	switch kind {
	case "all":
		return true
	case "centre":
		return v.Centre
	case "user":
		return v.UserID != "" && v.UserID == id
	case "post", "alert":
		if v.Centre {
			return true
		}
		if s == nil {
			return false
		}
		for p := range v.Posts {
			if s.Posts[p] {
				return true
			}
		}
		for st := range v.States {
			if s.States[st] {
				return true
			}
		}
	}
	return false
}

// Hub tails the outbox and fans events out to streams.
type Hub struct {
	db      *db.DB
	log     *slog.Logger
	resolve Resolver
	wake    chan struct{}

	mu     sync.Mutex // orders dispatch against subscription
	pos    atomic.Int64
	shards []*shard
	next   atomic.Uint64

	scopeMu    sync.Mutex
	scopeCache map[string]*Scope

	subscribers prometheus.Gauge
	dispatched  prometheus.Counter
	dropped     prometheus.Counter
}

// Options tune a hub.
type Options struct {
	Shards    int           // writer goroutines (default 4)
	KeepAlive time.Duration // comment interval (default 15s)
	Registry  prometheus.Registerer
}

// NewHub returns a hub positioned at the current head of the outbox.
func NewHub(ctx context.Context, d *db.DB, resolve Resolver, log *slog.Logger, o Options) (*Hub, error) {
	if o.Shards <= 0 {
		o.Shards = 4
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 15 * time.Second
	}
	h := &Hub{db: d, log: log, resolve: resolve, wake: make(chan struct{}, 1), scopeCache: map[string]*Scope{},
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sitroom_stream_subscribers", Help: "Open event streams on this replica."}),
		dispatched:  prometheus.NewCounter(prometheus.CounterOpts{Name: "sitroom_stream_events_total", Help: "Outbox events dispatched by this replica's hub."}),
		dropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "sitroom_stream_dropped_total", Help: "Streams closed because the client could not keep up or went away."}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(h.subscribers, h.dispatched, h.dropped)
	}
	var head int64
	if err := d.QueryRow(ctx, "SELECT pos FROM outbox_head WHERE id = 1").Scan(&head); err != nil {
		return nil, err
	}
	h.pos.Store(head)
	for i := 0; i < o.Shards; i++ {
		h.shards = append(h.shards, newShard(h, o.KeepAlive))
	}
	return h, nil
}

// Position is the last outbox position this hub has dispatched. A page or
// API response reads it BEFORE reading its data and hands it to the client,
// which streams from there: an event committed in between is replayed, never
// missed.
func (h *Hub) Position() int64 { return h.pos.Load() }

// Poke wakes the hub (non-blocking); called after a local commit.
func (h *Hub) Poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Run tails the outbox until ctx ends. On PostgreSQL it also listens for
// other replicas' commits.
func (h *Hub) Run(ctx context.Context) {
	for _, s := range h.shards {
		go s.run(ctx)
	}
	go h.db.Listen(ctx, Channel, h.Poke, h.log)
	safety := time.NewTicker(2 * time.Second)
	defer safety.Stop()
	for {
		if err := h.drain(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("outbox read failed", "err", err)
		}
		select {
		case <-ctx.Done():
			h.closeAll()
			return
		case <-h.wake:
		case <-safety.C:
		}
	}
}

type row struct {
	pos      int64
	typ      string
	audience string
	payload  string
}

// drain dispatches every committed event after the hub's position.
func (h *Hub) drain(ctx context.Context) error {
	for {
		rows, err := h.read(ctx, h.pos.Load(), 0, 1000)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			h.dispatch(ctx, r)
		}
		if len(rows) < 1000 {
			return nil
		}
	}
}

// read returns outbox rows with after < pos (<= upto when upto > 0).
func (h *Hub) read(ctx context.Context, after, upto int64, limit int) ([]row, error) {
	q := "SELECT pos, type, audience, payload FROM outbox WHERE pos > ?"
	args := []any{after}
	if upto > 0 {
		q += " AND pos <= ?"
		args = append(args, upto)
	}
	q += " ORDER BY pos LIMIT ?"
	args = append(args, limit)
	rs, err := h.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.pos, &r.typ, &r.audience, &r.payload); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// item is one encoded event on its way to the shards.
type item struct {
	pos   int64
	kind  string
	id    string
	scope *Scope
	frame []byte
}

func frame(r row) []byte {
	b := make([]byte, 0, len(r.payload)+len(r.typ)+40)
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, r.pos, 10)
	b = append(b, "\nevent: "...)
	b = append(b, r.typ...)
	b = append(b, "\ndata: "...)
	b = append(b, r.payload...)
	b = append(b, "\n\n"...)
	return b
}

func (h *Hub) scopeOf(ctx context.Context, kind, id string) *Scope {
	if kind != "post" && kind != "alert" {
		return nil
	}
	key := kind + ":" + id
	h.scopeMu.Lock()
	s, ok := h.scopeCache[key]
	h.scopeMu.Unlock()
	if ok {
		return s
	}
	if h.resolve == nil {
		return nil
	}
	sc, err := h.resolve(ctx, kind, id)
	if err != nil {
		// Failing closed would hide an alert from its post; failing open
		// would leak it. Neither is acceptable silently: log loudly and
		// deliver to the centre only (Centre viewers see everything).
		h.log.Error("cannot resolve event audience; only the centre receives it", "audience", key, "err", err)
		return nil
	}
	h.scopeMu.Lock()
	if len(h.scopeCache) > 4096 {
		h.scopeCache = map[string]*Scope{}
	}
	h.scopeCache[key] = &sc
	h.scopeMu.Unlock()
	return &sc
}

// Prime tells the hub the scope of an audience it is about to see, so that
// dispatching a large alert does not first read its thousands of recipients
// back from the database. Other replicas resolve it as usual.
func (h *Hub) Prime(a Audience, s Scope) {
	kind, id := a.split()
	h.scopeMu.Lock()
	if len(h.scopeCache) > 4096 {
		h.scopeCache = map[string]*Scope{}
	}
	h.scopeCache[kind+":"+id] = &s
	h.scopeMu.Unlock()
}

func (h *Hub) dispatch(ctx context.Context, r row) {
	kind, id := Audience(r.audience).split()
	it := &item{pos: r.pos, kind: kind, id: id, scope: h.scopeOf(ctx, kind, id), frame: frame(r)}
	h.mu.Lock()
	h.pos.Store(r.pos)
	for _, s := range h.shards {
		s.in <- it
	}
	h.mu.Unlock()
	h.dispatched.Inc()
}

func (h *Hub) closeAll() {
	for _, s := range h.shards {
		s.stop()
	}
}

// Replay writes to w every event the viewer may see in (after, upto].
// It returns errResync when after is older than what the outbox keeps.
func (h *Hub) replay(ctx context.Context, v *Viewer, after, upto int64, write func([]byte) error) error {
	if after >= upto {
		return nil
	}
	var min sql.NullInt64
	if err := h.db.QueryRow(ctx, "SELECT MIN(pos) FROM outbox").Scan(&min); err != nil {
		return err
	}
	if !min.Valid || after < min.Int64-1 {
		return errResync
	}
	for after < upto {
		rows, err := h.read(ctx, after, upto, 500)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			kind, id := Audience(r.audience).split()
			if v.sees(kind, id, h.scopeOf(ctx, kind, id)) {
				if err := write(frame(r)); err != nil {
					return err
				}
			}
			after = r.pos
		}
	}
	return nil
}

var errResync = errors.New("position older than the outbox retention")

// Prune deletes outbox rows older than keep (never the newest row, so the
// retention boundary stays known). Called by a daily loop.
func (h *Hub) Prune(ctx context.Context, before time.Time) (int64, error) {
	return prune(ctx, h.db, before)
}

func prune(ctx context.Context, d *db.DB, before time.Time) (int64, error) {
	var n int64
	err := d.RunInTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM outbox WHERE at < ? AND pos < (SELECT pos FROM outbox_head WHERE id = 1)", before)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
