package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/db"
)

// hashDomain starts every encoded entry, so a chain hash can never be
// mistaken for the hash of some other sitroom structure, and a future
// encoding can be told apart by its version.
const hashDomain = "sitroom.audit.v1"

// chained is the part of an entry that its hash covers: everything a person
// could want to forge, plus its place in the chain.
type chained struct {
	Seq         int64
	PrevHash    string
	At          time.Time
	Actor       string
	ActorUserID sql.NullString
	IP          string
	Action      string
	ObjectType  string
	ObjectID    string
	Summary     string
	Before      string
	After       string
}

// canonical encodes c unambiguously: every field is preceded by its length
// (8 bytes, big-endian), and the one nullable field by a presence byte, so no
// two different entries share an encoding however their texts are split.
// The time is UTC at microsecond precision in RFC 3339, the form both
// engines store exactly, so a restored entry hashes the same.
func (c *chained) canonical() []byte {
	b := make([]byte, 0, 256+len(c.Summary)+len(c.Before)+len(c.After))
	put := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	put(hashDomain)
	put(strconv.FormatInt(c.Seq, 10))
	put(c.PrevHash)
	put(c.At.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano))
	put(c.Actor)
	if c.ActorUserID.Valid {
		b = append(b, 1)
		put(c.ActorUserID.String)
	} else {
		b = append(b, 0)
	}
	put(c.IP)
	put(c.Action)
	put(c.ObjectType)
	put(c.ObjectID)
	put(c.Summary)
	put(c.Before)
	put(c.After)
	return b
}

// hash is the hex SHA-256 of the canonical encoding.
func (c *chained) hash() string {
	sum := sha256.Sum256(c.canonical())
	return hex.EncodeToString(sum[:])
}

// chainColumns are the columns read into chained, in scan order.
const chainColumns = `at, actor, actor_user_id, ip, action, object_type, object_id, summary, before_json, after_json`

func (c *chained) scanDest() []any {
	return []any{&c.At, &c.Actor, &c.ActorUserID, &c.IP, &c.Action, &c.ObjectType, &c.ObjectID, &c.Summary, &c.Before, &c.After}
}

// SealPending seals every committed, unsealed entry into the chain and
// returns how many it sealed. Entries are taken in id order, in batches of
// their own transactions so writers are never held up for long.
//
// Each batch first locks the chain head: the no-op UPDATE takes the row lock
// on PostgreSQL (so sealers on several replicas take turns, and each sees
// the head the previous one left) and is harmless on SQLite, where the write
// transaction is already exclusive. The same statement works on both.
func (l *Log) SealPending(ctx context.Context) (int, error) {
	// A cheap read first: a poll that finds nothing takes no write lock.
	var one int
	err := l.db.QueryRow(ctx, "SELECT 1 FROM audit_log WHERE seq IS NULL LIMIT 1").Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("audit seal: %w", err)
	}
	total := 0
	for {
		n, err := l.sealBatch(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("audit seal: %w", err)
		}
		if n < l.batch {
			return total, nil
		}
	}
}

type pending struct {
	id     int64
	hashed string
	chained
}

// updateChunk rows are sealed per UPDATE statement (4 parameters each),
// well under both engines' limits on bound parameters.
const updateChunk = 200

// writeSeals stores the seals of a run of entries in one statement: an
// UPDATE … FROM (VALUES …), which both engines accept (VALUES columns are
// named column1… on both; the casts give PostgreSQL the parameter types).
// Only unsealed rows are touched; if any was sealed meanwhile, which only a
// sealer not holding the head lock could do, the batch fails rather than
// fork the chain.
func writeSeals(ctx context.Context, tx *db.Tx, run []pending) error {
	var b strings.Builder
	b.WriteString("UPDATE audit_log SET seq = v.column2, prev_hash = v.column3, hash = v.column4 FROM (VALUES ")
	args := make([]any, 0, 4*len(run))
	for i, p := range run {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT))")
		args = append(args, p.id, p.Seq, p.PrevHash, p.hashed)
	}
	b.WriteString(") AS v WHERE audit_log.id = v.column1 AND audit_log.seq IS NULL")
	res, err := tx.Exec(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	k, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if k != int64(len(run)) {
		return fmt.Errorf("%d of entries %d..%d were sealed behind the sealer's back", int64(len(run))-k, run[0].id, run[len(run)-1].id)
	}
	return nil
}

func (l *Log) sealBatch(ctx context.Context) (int, error) {
	var n int
	err := l.db.RunInTx(ctx, func(tx *db.Tx) error {
		n = 0
		if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = seq WHERE id = 1"); err != nil {
			return fmt.Errorf("lock head: %w", err)
		}
		var seq int64
		var prev string
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&seq, &prev); err != nil {
			return fmt.Errorf("read head: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT id, `+chainColumns+` FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT ?`, l.batch)
		if err != nil {
			return err
		}
		var batch []pending
		for rows.Next() {
			var p pending
			if err := rows.Scan(append([]any{&p.id}, p.scanDest()...)...); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for i := range batch {
			p := &batch[i]
			seq++
			p.Seq, p.PrevHash = seq, prev
			prev = p.hash()
			p.hashed = prev
		}
		for lo := 0; lo < len(batch); lo += updateChunk {
			if err := writeSeals(ctx, tx, batch[lo:min(lo+updateChunk, len(batch))]); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", seq, prev); err != nil {
			return fmt.Errorf("write head: %w", err)
		}
		n = len(batch)
		return nil
	})
	return n, err
}

// RunSealer seals entries until ctx ends: at once when Poke is called (Record
// does so after commit), and every few seconds in case another process (the
// CLI against a live server, another replica) wrote entries without poking
// this one. Errors are logged and the loop goes on.
func (l *Log) RunSealer(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(l.sealEvery)
	defer t.Stop()
	for {
		n, err := l.SealPending(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("audit sealer", "err", err)
			// Don't spin on a persistent failure while writers keep poking.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		} else if n > 0 {
			log.Debug("audit sealed", "entries", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-t.C:
		}
	}
}
