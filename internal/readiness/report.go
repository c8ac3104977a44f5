package readiness

import (
	"context"
	"database/sql"
	"math"
	"sort"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Report is the outcome of a fired check.
//
// Definitions (they matter, and the issue fixes them):
//   - time to acknowledge = acknowledgement − the check's send time (the
//     alert's created_at), for every acknowledged post, also a late one;
//   - late = acknowledged after the deadline;
//   - missed = not acknowledged by the deadline: a late post is also
//     missed, and so is a post that never acknowledged once the deadline
//     has passed (until then it is pending);
//   - median and 90th percentile are taken over ALL addressed posts with a
//     miss (and a pending post) counted as infinite, by the nearest-rank
//     method: the value of the ⌈p·n⌉-th fastest post. So each is some
//     post's actual time, and the 90th percentile is "> deadline" exactly
//     when more than 10% of the posts missed;
//   - an acknowledgement after escalation (the post's escalation had
//     reached level 1 or beyond: its officer was silent until the deadline,
//     or nobody was on duty) counts as an acknowledgement and is labelled
//     apart; a phone confirmation by the centre is not an acknowledgement:
//     a post confirmed only by phone is missed, and labelled apart;
//   - a delivery cancelled with its alert before the post acknowledged is
//     left out of every figure (shown, not counted).
type Report struct {
	Check      Check     `json:"check"`
	AlertID    string    `json:"alert_id"`
	AlertState string    `json:"alert_state"`
	SentAt     time.Time `json:"sent_at"`
	DeadlineAt time.Time `json:"deadline_at"`
	// Final is true once the deadline has passed (or the alert ended):
	// no pending post remains, the figures will not change.
	Final bool `json:"final"`
	// Partial is true when Rows hold only the viewer's own posts (a head
	// of post); Summary is always network-wide.
	Partial  bool      `json:"partial"`
	Summary  Summary   `json:"summary"`
	Rows     []Row     `json:"rows"`
	Previous []Summary `json:"previous"`
}

// Summary is the network-wide outcome of one check.
type Summary struct {
	CheckID         string    `json:"check_id"`
	AlertID         string    `json:"alert_id"`
	Title           string    `json:"title"`
	SentAt          time.Time `json:"sent_at"`
	Addressed       int       `json:"addressed"` // counted posts (cancelled deliveries left out)
	OnTime          int       `json:"on_time"`
	Late            int       `json:"late"`
	Missed          int       `json:"missed"`
	NotAcknowledged int       `json:"not_acknowledged"` // missed and never acknowledged
	Pending         int       `json:"pending"`
	AfterEscalation int       `json:"acknowledged_after_escalation"`
	Phone           int       `json:"confirmed_by_phone"`
	PhoneOnly       int       `json:"confirmed_by_phone_only"` // phone, never acknowledged
	Cancelled       int       `json:"cancelled"`
	Median          Stat      `json:"median"`
	P90             Stat      `json:"p90"`
}

// Row is one addressed post's outcome.
type Row struct {
	PostID string `json:"post_id"`
	Code   string `json:"code"`
	NameEN string `json:"name_en"`
	NameRU string `json:"name_ru"`
	State  string `json:"state"` // member state code; "" for the organisation's own posts
	// Rank by time to acknowledge: on time (fastest first), then late
	// acknowledgements, then phone confirmations only, then silence; equal
	// outcomes share a rank. 0 for a cancelled delivery.
	Rank    int        `json:"rank"`
	SentAt  time.Time  `json:"sent_at"`
	AckedAt *time.Time `json:"acked_at"`
	// Elapsed is the time to acknowledge of any acknowledgement (also a
	// late one); Result is what the figures count (infinite when missed).
	Elapsed         Stat       `json:"time_to_ack"`
	Result          Stat       `json:"result"`
	AckChannel      string     `json:"ack_channel,omitempty"`
	Late            bool       `json:"late"`
	Missed          bool       `json:"missed"`
	Pending         bool       `json:"pending"`
	AfterEscalation bool       `json:"after_escalation"`
	EscalationLevel int        `json:"escalation_level"`
	Phone           bool       `json:"confirmed_by_phone"`
	PhoneAt         *time.Time `json:"confirmed_by_phone_at"`
	Cancelled       bool       `json:"cancelled"`
	// Previous is this post's outcome in the latest previous check (of
	// Report.Previous) that addressed it.
	Previous *PostComparison `json:"previous,omitempty"`

	stateID string
	class   int
}

// PostComparison is a post's outcome in a previous check, against this one.
type PostComparison struct {
	CheckID string    `json:"check_id"`
	SentAt  time.Time `json:"sent_at"`
	Result  Stat      `json:"result"`
	// Change: faster, slower, same (both on time), recovered (missed then,
	// on time now), missed (on time then, missed now), missed_again.
	Change       string   `json:"change"`
	DeltaSeconds *float64 `json:"delta_seconds,omitempty"` // now − then, when both are on time
}

// ReportOptions tune the comparison with previous checks.
type ReportOptions struct {
	// Previous is how many previous fired checks to compare with
	// (default 5, at most 50; negative: none).
	Previous int
	// SameSeries compares only with earlier occurrences of the same
	// recurring check (for a one-off check it has no effect).
	SameSeries bool
}

// outcome is one delivery as the figures need it.
type outcome struct {
	alertID, postID, code, nameEN, nameRU, stateID, stateCode string
	dstate, alertState                                        string
	sentAt, deadline                                          time.Time
	ackedAt, phoneAt                                          *time.Time
	level                                                     int
	channel                                                   string
}

func (s *Store) outcomes(ctx context.Context, where string, args ...any) ([]outcome, error) {
	rows, err := s.db.Query(ctx, `SELECT d.alert_id, d.post_id, p.code, p.name_en, p.name_ru, COALESCE(p.state_id, ''), COALESCE(ms.code, ''),
		d.state, a.state, a.created_at, a.deadline_at, d.acked_at, d.phone_at, d.escalation_level, d.ack_channel
		FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN posts p ON p.id = d.post_id LEFT JOIN member_states ms ON ms.id = p.state_id
		WHERE `+where+` ORDER BY p.code`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outcome
	for rows.Next() {
		var o outcome
		var acked, phone db.NullTime
		if err := rows.Scan(&o.alertID, &o.postID, &o.code, &o.nameEN, &o.nameRU, &o.stateID, &o.stateCode, &o.dstate, &o.alertState,
			&o.sentAt, &o.deadline, &acked, &phone, &o.level, &o.channel); err != nil {
			return nil, err
		}
		o.sentAt, o.deadline, o.ackedAt, o.phoneAt = o.sentAt.UTC(), o.deadline.UTC(), nt(acked), nt(phone)
		out = append(out, o)
	}
	return out, rows.Err()
}

// Ranking classes.
const (
	classOnTime = iota
	classLate
	classPhoneOnly
	classSilent
	classCancelled
)

// rowOf applies the definitions of Report to one delivery at instant now.
func rowOf(o outcome, now time.Time) Row {
	r := Row{PostID: o.postID, Code: o.code, NameEN: o.nameEN, NameRU: o.nameRU, State: o.stateCode, stateID: o.stateID,
		SentAt: o.sentAt, AckedAt: o.ackedAt, AckChannel: o.channel, EscalationLevel: o.level, PhoneAt: o.phoneAt, Phone: o.phoneAt != nil}
	acked := o.ackedAt != nil
	if acked {
		r.Elapsed = Finite(o.ackedAt.Sub(o.sentAt))
		r.Late = o.ackedAt.After(o.deadline)
		r.AfterEscalation = o.level > 0
	}
	switch {
	case !acked && o.dstate == alert.DCancelled:
		r.Cancelled, r.class = true, classCancelled
		return r
	case acked && !r.Late:
		r.Result, r.class = r.Elapsed, classOnTime
		return r
	case acked:
		r.class = classLate
	case r.Phone:
		r.class = classPhoneOnly
	default:
		r.class = classSilent
	}
	r.Result = Infinite()
	r.Pending = !acked && o.alertState == alert.StateOpen && now.Before(o.deadline)
	r.Missed = !r.Pending
	return r
}

// nearestRank is the p-th percentile (0 < p ≤ 100) of sorted values by the
// nearest-rank method: the ⌈p·n/100⌉-th value.
func nearestRank(sorted []Stat, p int) Stat {
	n := len(sorted)
	if n == 0 {
		return Stat{}
	}
	k := (p*n + 99) / 100
	return sorted[max(k, 1)-1]
}

// summarise computes the network-wide figures of one check's rows.
func summarise(rows []Row) Summary {
	var sm Summary
	vals := make([]Stat, 0, len(rows))
	for _, r := range rows {
		if r.Cancelled {
			sm.Cancelled++
			continue
		}
		sm.Addressed++
		vals = append(vals, r.Result)
		switch {
		case r.class == classOnTime:
			sm.OnTime++
		case r.Late:
			sm.Late++
		}
		if r.Missed {
			sm.Missed++
			if r.AckedAt == nil {
				sm.NotAcknowledged++
			}
		}
		if r.Pending {
			sm.Pending++
		}
		if r.AckedAt != nil && r.AfterEscalation {
			sm.AfterEscalation++
		}
		if r.Phone {
			sm.Phone++
			if r.AckedAt == nil {
				sm.PhoneOnly++
			}
		}
	}
	sort.SliceStable(vals, func(i, j int) bool { return vals[i].less(vals[j]) })
	sm.Median, sm.P90 = nearestRank(vals, 50), nearestRank(vals, 90)
	return sm
}

// rank sorts rows by outcome and numbers them (equal outcomes share a rank).
func rank(rows []Row) {
	key := func(r Row) (int, time.Duration) {
		if r.class == classOnTime || r.class == classLate {
			return r.class, r.Elapsed.D
		}
		return r.class, 0
	}
	sort.SliceStable(rows, func(i, j int) bool {
		ci, di := key(rows[i])
		cj, dj := key(rows[j])
		if ci != cj {
			return ci < cj
		}
		if di != dj {
			return di < dj
		}
		return rows[i].Code < rows[j].Code
	})
	for i := range rows {
		if rows[i].class == classCancelled {
			rows[i].Rank = 0
			continue
		}
		ci, di := key(rows[i])
		if i > 0 {
			cp, dp := key(rows[i-1])
			if ci == cp && di == dp {
				rows[i].Rank = rows[i-1].Rank
				continue
			}
		}
		rows[i].Rank = i + 1
	}
}

// reportViewer says whose rows the actor may read: all of them (centre
// roles, administrators, the system), or those of the posts they head.
type reportViewer struct {
	a   *auth.Actor
	all bool
}

func viewerOf(ctx context.Context) (reportViewer, error) {
	a := auth.From(ctx)
	if a == nil {
		return reportViewer{}, apperr.Unauthorized("sign in to see readiness reports")
	}
	return reportViewer{a: a, all: seesUnfired(a) || a.IsAdmin()}, nil
}

func (v reportViewer) mayPost(postID, stateID string) bool {
	return v.all || v.a.HasForPost(auth.PostHead, postID, stateID)
}

// Report computes the report of a fired check. Centre roles and
// administrators read every row; a head of post reads the rows of the
// posts they head, with the network-wide figures; anyone else (and a head
// whose posts the check did not address) gets NotFound.
func (s *Store) Report(ctx context.Context, checkID string, o ReportOptions) (*Report, error) {
	v, err := viewerOf(ctx)
	if err != nil {
		return nil, err
	}
	c, err := scanCheck(s.db.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.id = ?", checkID))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("readiness check")
	} else if err != nil {
		return nil, err
	}
	if c.State != StateFired || c.AlertID == nil {
		if seesUnfired(v.a) {
			return nil, apperr.Conflict("check-not-fired", "the check is "+c.State+"; a report exists once it has been sent")
		}
		return nil, apperr.NotFound("readiness check")
	}
	now := s.clock.Now()
	outs, err := s.outcomes(ctx, "d.alert_id = ?", *c.AlertID)
	if err != nil {
		return nil, err
	}
	if len(outs) == 0 {
		return nil, apperr.NotFound("readiness check")
	}
	all := make([]Row, len(outs))
	for i, oc := range outs {
		all[i] = rowOf(oc, now)
	}
	rank(all)
	r := &Report{Check: *c, AlertID: *c.AlertID, AlertState: outs[0].alertState, SentAt: outs[0].sentAt, DeadlineAt: outs[0].deadline,
		Summary: summarise(all), Partial: !v.all}
	r.Final = !now.Before(r.DeadlineAt) || r.AlertState != alert.StateOpen
	r.Summary.CheckID, r.Summary.AlertID, r.Summary.Title, r.Summary.SentAt = c.ID, *c.AlertID, c.Title, r.SentAt
	r.Rows = []Row{}
	for _, row := range all {
		if v.mayPost(row.PostID, row.stateID) {
			r.Rows = append(r.Rows, row)
		}
	}
	if len(r.Rows) == 0 {
		return nil, apperr.NotFound("readiness check")
	}
	if err := s.compare(ctx, r, o, now); err != nil {
		return nil, err
	}
	return r, nil
}

// compare fills Report.Previous and each row's Previous.
func (s *Store) compare(ctx context.Context, r *Report, o ReportOptions, now time.Time) error {
	r.Previous = []Summary{}
	n := o.Previous
	if n == 0 {
		n = 5
	}
	if n < 0 {
		return nil
	}
	n = min(n, 50)
	q := "SELECT " + checkCols + " FROM readiness_checks c WHERE c.state = ? AND c.alert_id IS NOT NULL AND c.fired_at < ?"
	args := []any{StateFired, r.SentAt}
	if o.SameSeries && r.Check.SeriesID != nil {
		q += " AND c.series_id = ?"
		args = append(args, *r.Check.SeriesID)
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY c.fired_at DESC, c.id DESC LIMIT ?", append(args, n)...)
	if err != nil {
		return err
	}
	var prev []Check
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			rows.Close()
			return err
		}
		prev = append(prev, *c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(prev) == 0 {
		return nil
	}
	ids := make([]any, len(prev))
	for i, c := range prev {
		ids[i] = *c.AlertID
	}
	outs, err := s.outcomes(ctx, "d.alert_id IN ("+ph(len(ids))+")", ids...)
	if err != nil {
		return err
	}
	byAlert := map[string][]Row{}
	for _, oc := range outs {
		byAlert[oc.alertID] = append(byAlert[oc.alertID], rowOf(oc, now))
	}
	// Newest previous check first: the first one that addressed a post is
	// the post's "previous".
	prevOf := map[string]*PostComparison{}
	for _, c := range prev {
		rs := byAlert[*c.AlertID]
		sm := summarise(rs)
		sm.CheckID, sm.AlertID, sm.Title = c.ID, *c.AlertID, c.Title
		if len(rs) > 0 {
			sm.SentAt = rs[0].SentAt
		} else if c.FiredAt != nil {
			sm.SentAt = *c.FiredAt
		}
		r.Previous = append(r.Previous, sm)
		for _, pr := range rs {
			if pr.Cancelled || prevOf[pr.PostID] != nil {
				continue
			}
			prevOf[pr.PostID] = &PostComparison{CheckID: c.ID, SentAt: pr.SentAt, Result: pr.Result}
		}
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		pc := prevOf[row.PostID]
		if pc == nil || row.Cancelled || row.Pending {
			continue
		}
		cp := *pc
		switch cur, then := row.Result, pc.Result; {
		case !cur.Over && !then.Over:
			d := math.Round((cur.D-then.D).Seconds()*1000) / 1000
			cp.DeltaSeconds = &d
			switch {
			case cur.D < then.D:
				cp.Change = "faster"
			case cur.D > then.D:
				cp.Change = "slower"
			default:
				cp.Change = "same"
			}
		case !cur.Over:
			cp.Change = "recovered"
		case !then.Over:
			cp.Change = "missed"
		default:
			cp.Change = "missed_again"
		}
		row.Previous = &cp
	}
	return nil
}

// postsVisible returns, of the given posts (all posts when empty), those
// whose readiness figures the actor may read, as id → row skeleton.
func (s *Store) postsVisible(ctx context.Context, v reportViewer, ids []string) (map[string]Row, error) {
	q := `SELECT p.id, p.code, p.name_en, p.name_ru, COALESCE(p.state_id, ''), COALESCE(ms.code, '')
		FROM posts p LEFT JOIN member_states ms ON ms.id = p.state_id`
	var args []any
	if len(ids) > 0 {
		q += " WHERE p.id IN (" + ph(len(ids)) + ") OR p.code IN (" + ph(len(ids)) + ")"
		for range 2 {
			for _, id := range ids {
				args = append(args, strings.TrimSpace(id))
			}
		}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Row{}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.PostID, &r.Code, &r.NameEN, &r.NameRU, &r.stateID, &r.State); err != nil {
			return nil, err
		}
		if v.mayPost(r.PostID, r.stateID) {
			out[r.PostID] = r
		}
	}
	return out, rows.Err()
}
