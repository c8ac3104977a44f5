package duty

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

const (
	feedTokenPrefix = "sdf_"
	// feedPast is how far back a feed lists shifts.
	feedPast = 30 * 24 * time.Hour
	// feedTouchEvery throttles the last-used stamp: calendar clients poll.
	feedTouchEvery = time.Hour
)

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// feedOwner loads a person the caller may manage feeds for: themselves, or
// anyone (they may see) for an administrator.
func (s *Store) feedOwner(ctx context.Context, q db.Querier, personID string) (personInfo, error) {
	a, err := actor(ctx)
	if err != nil {
		return personInfo{}, err
	}
	people, err := loadPeople(ctx, q, []string{personID})
	if err != nil {
		return personInfo{}, err
	}
	p, ok := people[personID]
	if !ok || !a.CanSeeState(p.StateID) {
		return p, apperr.NotFound("person")
	}
	if a.PersonID != personID && !a.IsAdmin() {
		return p, apperr.Forbidden("feed-owner", "only the person themselves (or an administrator) manages their calendar feeds")
	}
	return p, nil
}

// CreateFeedToken makes a new iCalendar feed token for person personID's
// shifts. The token (for the feed URL) is returned this once; only its
// hash is kept.
func (s *Store) CreateFeedToken(ctx context.Context, personID string) (NewFeedToken, error) {
	var out NewFeedToken
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return out, err
	}
	tok := feedTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		p, err := s.feedOwner(ctx, tx, personID)
		if err != nil {
			return err
		}
		ft := FeedToken{ID: db.NewID(), PersonID: p.ID, Prefix: tok[:len(feedTokenPrefix)+6], CreatedBy: auth.From(ctx).Label(), CreatedAt: s.now()}
		if _, err := tx.Exec(ctx, `INSERT INTO duty_feed_tokens (id, person_id, hash, prefix, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			ft.ID, ft.PersonID, hashToken(tok), ft.Prefix, ft.CreatedBy, ft.CreatedAt); err != nil {
			return err
		}
		out = NewFeedToken{FeedToken: ft, Token: tok}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.feed_token.create", ObjectType: "feed_token", ObjectID: ft.ID,
			Summary: "calendar feed token " + ft.Prefix + "… for " + p.Name.EN, After: ft,
		})
	})
	return out, err
}

const feedCols = `id, person_id, prefix, created_by, created_at, last_used_at, revoked_at`

func scanFeedToken(sc interface{ Scan(...any) error }) (FeedToken, error) {
	var ft FeedToken
	var used, rev sql.NullTime
	err := sc.Scan(&ft.ID, &ft.PersonID, &ft.Prefix, &ft.CreatedBy, &ft.CreatedAt, &used, &rev)
	ft.CreatedAt, ft.LastUsedAt, ft.RevokedAt = clock.Norm(ft.CreatedAt), timePtr(used), timePtr(rev)
	return ft, err
}

// FeedTokens lists person personID's feed tokens, newest first.
func (s *Store) FeedTokens(ctx context.Context, personID string) ([]FeedToken, error) {
	if _, err := s.feedOwner(ctx, s.db, personID); err != nil {
		return nil, err
	}
	rs, err := s.db.Query(ctx, `SELECT `+feedCols+` FROM duty_feed_tokens WHERE person_id = ? ORDER BY created_at DESC, id DESC`, personID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []FeedToken{}
	for rs.Next() {
		ft, err := scanFeedToken(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, ft)
	}
	return out, rs.Err()
}

// RevokeFeedToken stops a feed token for good. Revoking it again changes
// nothing.
func (s *Store) RevokeFeedToken(ctx context.Context, id string) error {
	return s.db.RunInTx(ctx, func(tx *db.Tx) error {
		ft, err := scanFeedToken(tx.QueryRow(ctx, `SELECT `+feedCols+` FROM duty_feed_tokens WHERE id = ?`, id))
		if err == sql.ErrNoRows {
			return apperr.NotFound("feed token")
		}
		if err != nil {
			return err
		}
		p, err := s.feedOwner(ctx, tx, ft.PersonID)
		if err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.NotFound("feed token")
			}
			return err
		}
		if ft.RevokedAt != nil {
			return nil
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE duty_feed_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, now, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.feed_token.revoke", ObjectType: "feed_token", ObjectID: id,
			Summary: "calendar feed token " + ft.Prefix + "… of " + p.Name.EN + " revoked", Before: ft,
		})
	})
}

// FeedByToken returns the iCalendar (RFC 5545) feed of the shifts of the
// token's person, from 30 days ago to the rotation horizon, overrides
// applied (a shift someone else covers drops out; a cover or swap the
// person took appears). Needs no actor: the token is the credential. An
// unknown or revoked token is NotFound.
//
// Each VEVENT's UID is <shift id>@<host> (<shift id>-<part>@<host> for
// the later pieces of a shift cut by a cover), stable across fetches, so
// clients update events in place; DTSTART/DTEND are in UTC; DTSTAMP is the
// time of the fetch. Line folding and TEXT escaping are the library's.
func (s *Store) FeedByToken(ctx context.Context, token string) ([]byte, error) {
	if !strings.HasPrefix(token, feedTokenPrefix) {
		return nil, apperr.NotFound("feed")
	}
	var (
		id, personID string
		used         sql.NullTime
	)
	err := s.db.QueryRow(ctx, `SELECT id, person_id, last_used_at FROM duty_feed_tokens WHERE hash = ? AND revoked_at IS NULL`, hashToken(token)).Scan(&id, &personID, &used)
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("feed")
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	people, err := loadPeople(ctx, s.db, []string{personID})
	if err != nil {
		return nil, err
	}
	person := people[personID]
	segs, err := personSegments(ctx, s.db, personID, now.Add(-feedPast), now.Add(s.horizon))
	if err != nil {
		return nil, err
	}
	posts, err := postsByID(ctx, s.db, segPosts(segs))
	if err != nil {
		return nil, err
	}

	cal := ics.NewCalendarFor("sitroom")
	cal.SetProductId("-//sitroom//duty roster//EN")
	cal.SetMethod(ics.MethodPublish)
	cal.SetXWRCalName(clean("Duty: " + person.Name.EN))
	cal.SetXWRCalDesc(clean("Дежурства: " + person.Name.RU))
	cal.SetXPublishedTTL("PT1H")
	for _, sg := range segs {
		p := posts[sg.PostID]
		uid := sg.ShiftID
		if sg.Part > 0 {
			uid = fmt.Sprintf("%s-%d", sg.ShiftID, sg.Part)
		}
		ev := cal.AddEvent(uid + "@" + s.host)
		ev.SetDtStampTime(now)
		ev.SetStartAt(sg.Start)
		ev.SetEndAt(sg.End)
		ev.SetSummary(clean(fmt.Sprintf("Duty: %s — %s", p.NameEN, slotEN[sg.Slot])))
		loc := zoneOr(p.TZ)
		desc := fmt.Sprintf("Дежурство: %s — %s.\nМестное время поста (%s): %s – %s.", p.NameRU, slotRU[sg.Slot], p.TZ,
			sg.Start.In(loc).Format("02.01.2006 15:04"), sg.End.In(loc).Format("02.01.2006 15:04"))
		if sg.Source == FromOverride {
			desc += "\n" + map[OverrideKind]string{Cover: "Замена (cover).", Swap: "Обмен сменами (swap)."}[sg.Kind]
		}
		ev.SetDescription(clean(desc))
		ev.SetLocation(clean(p.NameEN))
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	var buf bytes.Buffer
	if err := cal.SerializeTo(&buf, ics.WithNewLineWindows); err != nil {
		return nil, err
	}
	if !used.Valid || now.Sub(used.Time) >= feedTouchEvery {
		// Bookkeeping for the token list ("last used"), not a user's change:
		// not audited, and a failure does not deny the feed.
		_, _ = s.db.Exec(ctx, `UPDATE duty_feed_tokens SET last_used_at = ? WHERE id = ?`, now, id)
	}
	return buf.Bytes(), nil
}

var slotEN = map[Slot]string{Primary: "primary", Deputy: "deputy"}
var slotRU = map[Slot]string{Primary: "оперативный дежурный", Deputy: "помощник оперативного дежурного"}

// clean drops carriage returns and other control characters except line
// feeds (which TEXT escaping turns into \n): RFC 5545 forbids them in
// values.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || (r >= 0x20 && r != 0x7f) {
			return r
		}
		return -1
	}, s)
}
