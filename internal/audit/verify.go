package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/db"
)

// Anchor is a point of the chain written down outside the database (server
// log, backup, an operator's notebook): the entry at Seq must have Hash. The
// chain alone cannot show that entries were cut off its end, or that its
// whole tail was rewritten and re-hashed; an earlier anchor can.
type Anchor struct {
	Seq  int64
	Hash string
}

// String is the SEQ:HASH form the server logs and `audit verify --anchor` takes.
func (a Anchor) String() string { return strconv.FormatInt(a.Seq, 10) + ":" + a.Hash }

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ParseAnchor reads "SEQ:HASH". The empty chain's anchor is "0:".
func ParseAnchor(s string) (Anchor, error) {
	seqText, h, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Anchor{}, fmt.Errorf("anchor %q: want SEQ:HASH", s)
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 0 {
		return Anchor{}, fmt.Errorf("anchor %q: SEQ must be a non-negative integer", s)
	}
	h = strings.ToLower(h)
	if seq == 0 && h == "" {
		return Anchor{}, nil
	}
	if !hexHash.MatchString(h) {
		return Anchor{}, fmt.Errorf("anchor %q: HASH must be 64 hex digits", s)
	}
	if seq == 0 {
		return Anchor{}, fmt.Errorf("anchor %q: sequence 0 has no hash", s)
	}
	return Anchor{Seq: seq, Hash: h}, nil
}

// Anchor seals what is pending, records the chain head in audit_anchors and
// returns it.
func (l *Log) Anchor(ctx context.Context) (Anchor, error) { return l.AnchorNote(ctx, "") }

// AnchorNote is Anchor with a note saying why it was taken ("backup",
// "server" …), kept beside it in audit_anchors.
func (l *Log) AnchorNote(ctx context.Context, note string) (Anchor, error) {
	if _, err := l.SealPending(ctx); err != nil {
		return Anchor{}, err
	}
	var a Anchor
	err := l.db.RunInTx(ctx, func(tx *db.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&a.Seq, &a.Hash); err != nil {
			return fmt.Errorf("read head: %w", err)
		}
		_, err := tx.Exec(ctx, "INSERT INTO audit_anchors (seq, hash, at, note) VALUES (?, ?, ?, ?)",
			a.Seq, a.Hash, l.clock.Now(), note)
		return err
	})
	if err != nil {
		return Anchor{}, fmt.Errorf("audit anchor: %w", err)
	}
	return a, nil
}

// RunAnchors logs an anchor ("audit anchor", anchor=SEQ:HASH) at once and
// then every interval until ctx ends, so the server's log holds a trail of
// anchors outside the database. every <= 0 logs only the first.
func (l *Log) RunAnchors(ctx context.Context, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	anchor := func() {
		a, err := l.AnchorNote(ctx, "server")
		if err != nil {
			if ctx.Err() == nil {
				log.Error("audit anchor", "err", err)
			}
			return
		}
		log.Info("audit anchor", "anchor", a.String())
	}
	anchor()
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			anchor()
		}
	}
}

// Report is what Verify found.
type Report struct {
	Checked  int64   // sealed entries that verified (up to the break, if any)
	Last     Anchor  // the last entry that verified (0: if none)
	Head     Anchor  // the audit_head row
	Unsealed int64   // entries committed but not yet sealed (not an error)
	Anchor   *Anchor // the anchor checked, if one was given
	Broken   *Break  // the first broken link; nil when the chain verifies
}

// OK tells whether the chain (and the anchor, if given) verified.
func (r *Report) OK() bool { return r.Broken == nil }

// Break is the first broken link: the sequence number where the chain stops
// being trustworthy, and why.
type Break struct {
	Seq    int64
	Reason string
}

func (b *Break) String() string { return fmt.Sprintf("seq %d: %s", b.Seq, b.Reason) }

// Verify walks the chain in sequence order and checks that sequence numbers
// run from 1 without a gap, that each entry names its predecessor's hash,
// that each hash matches the entry's contents, and that the head row names
// the last entry. With an anchor it also checks that the anchored entry is
// still there with the same hash, which catches a tail cut off (with the
// head rewound to match) or rewritten after the anchor was taken.
//
// Verify only reads, inside one snapshot, so it can run against a live
// database while sealers work; unsealed entries are counted, not sealed.
func Verify(ctx context.Context, d *db.DB, anchor *Anchor) (*Report, error) {
	r := &Report{Anchor: anchor}
	err := d.ReadSnapshot(ctx, func(q *db.ReadTx) error {
		*r = Report{Anchor: anchor}
		if err := q.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&r.Head.Seq, &r.Head.Hash); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				r.Broken = &Break{Seq: 0, Reason: "the chain head row is missing"}
				return nil
			}
			return fmt.Errorf("read head: %w", err)
		}
		if err := q.QueryRow(ctx, "SELECT COUNT(*) FROM audit_log WHERE seq IS NULL").Scan(&r.Unsealed); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT seq, prev_hash, hash, `+chainColumns+` FROM audit_log WHERE seq IS NOT NULL ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		anchorSeen := false
		for rows.Next() {
			var c chained
			var prev, h sql.NullString
			if err := rows.Scan(append([]any{&c.Seq, &prev, &h}, c.scanDest()...)...); err != nil {
				return err
			}
			want := r.Last.Seq + 1
			switch {
			case c.Seq < want:
				r.Broken = &Break{Seq: c.Seq, Reason: fmt.Sprintf("sequence number out of order after %d", r.Last.Seq)}
			case c.Seq > want && c.Seq == want+1:
				r.Broken = &Break{Seq: want, Reason: "entry missing (deleted?)"}
			case c.Seq > want:
				r.Broken = &Break{Seq: want, Reason: fmt.Sprintf("entries %d to %d missing (deleted?)", want, c.Seq-1)}
			case !prev.Valid || !h.Valid:
				r.Broken = &Break{Seq: c.Seq, Reason: "entry has a sequence number but no hash"}
			case prev.String != r.Last.Hash:
				r.Broken = &Break{Seq: c.Seq, Reason: "previous-hash link does not match the previous entry (inserted, reordered or re-chained?)"}
			}
			if r.Broken != nil {
				return nil
			}
			c.PrevHash = prev.String
			if c.hash() != h.String {
				r.Broken = &Break{Seq: c.Seq, Reason: "hash does not match the entry's contents (edited?)"}
				return nil
			}
			if anchor != nil && c.Seq == anchor.Seq {
				anchorSeen = true
				if h.String != anchor.Hash {
					r.Broken = &Break{Seq: c.Seq, Reason: "entry differs from the anchor " + anchor.String() + " (chain rewritten after the anchor was taken?)"}
					return nil
				}
			}
			r.Checked++
			r.Last = Anchor{Seq: c.Seq, Hash: h.String}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		switch {
		case r.Head.Seq > r.Last.Seq:
			r.Broken = &Break{Seq: r.Last.Seq + 1, Reason: fmt.Sprintf("the head is at %d but the chain ends at %d: entries missing from the end", r.Head.Seq, r.Last.Seq)}
		case r.Head.Seq < r.Last.Seq:
			r.Broken = &Break{Seq: r.Head.Seq + 1, Reason: fmt.Sprintf("entries after the head (%d) up to %d", r.Head.Seq, r.Last.Seq)}
		case r.Head.Hash != r.Last.Hash:
			r.Broken = &Break{Seq: r.Head.Seq, Reason: "the head's hash does not match the last entry"}
		case anchor != nil && anchor.Seq > 0 && !anchorSeen:
			r.Broken = &Break{Seq: r.Last.Seq + 1, Reason: fmt.Sprintf("the anchor %s lies beyond the end of the chain (%d): entries cut off the end", anchor, r.Last.Seq)}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	return r, nil
}
