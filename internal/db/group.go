package db

import (
	"context"
	"errors"
)

// Group commits many small write transactions together: concurrent callers
// of Do queue, and one goroutine runs a batch of them in a single
// transaction — each inside its own savepoint, so one caller's failure rolls
// back only its own writes — and commits once. Every caller is answered only
// after that commit, so each answer is as durable as a transaction of its own
// (SQLite synchronous=FULL: one fsync for the whole batch). This is how
// acknowledgements reach thousands per second on one disk.
type Group struct {
	d    *DB
	reqs chan *groupReq
	max  int
}

type groupReq struct {
	ctx  context.Context
	fn   func(tx *Tx) error
	done chan error
}

// NewGroup returns a group committing up to max transactions at once. Run
// must be running for Do to make progress.
func (d *DB) NewGroup(max int) *Group {
	if max <= 0 {
		max = 256
	}
	return &Group{d: d, reqs: make(chan *groupReq, 4*max), max: max}
}

// ErrGroupStopped is returned by Do when the group has stopped.
var ErrGroupStopped = errors.New("the group committer has stopped")

// Do runs fn in a shared transaction and returns its error once the batch has
// committed (or fn's own error, with its writes rolled back). fn may run
// again if the batch meets a transient conflict, so it must have no side
// effects outside the transaction; after-commit hooks run only for callers
// whose fn succeeded.
func (g *Group) Do(ctx context.Context, fn func(tx *Tx) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The batch may still commit this caller's work; the caller
		// learns nothing more. A retry is idempotent for every user.
		return ctx.Err()
	}
}

// Run works batches until ctx ends; queued callers then get ErrGroupStopped.
func (g *Group) Run(ctx context.Context) {
	for {
		var first *groupReq
		select {
		case <-ctx.Done():
			g.drainStopped()
			return
		case first = <-g.reqs:
		}
		batch := []*groupReq{first}
	fill:
		for len(batch) < g.max {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		g.run(ctx, batch)
	}
}

func (g *Group) drainStopped() {
	for {
		select {
		case r := <-g.reqs:
			r.done <- ErrGroupStopped
		default:
			return
		}
	}
}

func (g *Group) run(ctx context.Context, batch []*groupReq) {
	results := make([]error, len(batch))
	hooks := make([][]func(), len(batch))
	err := g.d.RunInTx(ctx, func(tx *Tx) error {
		for i, r := range batch {
			results[i], hooks[i] = nil, nil
			if r.ctx.Err() != nil {
				results[i] = r.ctx.Err()
				continue
			}
			// One savepoint name for every caller (each is released before
			// the next starts), so the statements are prepared once.
			const sp = "g"
			if _, err := tx.ExecPrepared(ctx, "SAVEPOINT "+sp); err != nil {
				return err
			}
			mark := len(tx.after)
			ferr := r.fn(tx)
			if ferr != nil {
				if IsTransient(ferr) {
					return ferr // retry the whole batch
				}
				tx.after = tx.after[:mark]
				if _, err := tx.ExecPrepared(ctx, "ROLLBACK TO SAVEPOINT "+sp); err != nil {
					return err
				}
				results[i] = ferr
			} else {
				hooks[i] = append([]func(){}, tx.after[mark:]...)
			}
			if _, err := tx.ExecPrepared(ctx, "RELEASE SAVEPOINT "+sp); err != nil {
				return err
			}
		}
		// Hooks are run below per caller, not by RunInTx.
		tx.after = nil
		return nil
	})
	for i, r := range batch {
		if err != nil {
			r.done <- err
			continue
		}
		if results[i] == nil {
			for _, h := range hooks[i] {
				h()
			}
		}
		r.done <- results[i]
	}
}
