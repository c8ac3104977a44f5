package readiness

import (
	"context"
	"sort"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
)

// TrendOptions choose the posts and months of a trend.
type TrendOptions struct {
	// Posts are ids or codes; empty: every post the viewer may read that a
	// check in the period addressed.
	Posts []string
	// Months is how many calendar months, the last one holding Until
	// (default 12, at most 36).
	Months int
	// Until is an instant in the last month shown; zero: now.
	Until time.Time
	// TZ is the zone whose midnights cut the months; "": the
	// organisation's zone, else UTC.
	TZ string
}

// Trend is the monthly median time to acknowledge of posts.
type Trend struct {
	Zone   string      `json:"zone"`
	Months []string    `json:"months"` // "2006-01", oldest first
	Posts  []PostTrend `json:"posts"`
}

// PostTrend is one post's line.
type PostTrend struct {
	PostID string       `json:"post_id"`
	Code   string       `json:"code"`
	NameEN string       `json:"name_en"`
	NameRU string       `json:"name_ru"`
	State  string       `json:"state"`
	Points []MonthPoint `json:"points"` // aligned with Trend.Months
}

// MonthPoint is a post's month: the median over the checks that addressed
// it that month (a miss counted as infinite, nearest rank, as in Report);
// Median is not Valid in a month without a check, and Over in a month the
// post missed more than half of its checks (a "missed month").
type MonthPoint struct {
	Month  string `json:"month"`
	Checks int    `json:"checks"`
	Missed int    `json:"missed"`
	Median Stat   `json:"median"`
}

// Trend computes monthly medians per post over fired checks. Who may read
// it is as for Report: centre roles and administrators every post, a head
// of post the posts they head; anyone else is Forbidden.
func (s *Store) Trend(ctx context.Context, o TrendOptions) (*Trend, error) {
	v, err := viewerOf(ctx)
	if err != nil {
		return nil, err
	}
	if !v.all && !v.a.Has(auth.PostHead) {
		return nil, apperr.Forbidden("", "readiness trends are for the centre, administrators and heads of posts")
	}
	if o.Months <= 0 {
		o.Months = 12
	}
	o.Months = min(o.Months, 36)
	now := s.clock.Now()
	if o.Until.IsZero() {
		o.Until = now
	}
	if o.TZ == "" {
		o.TZ = s.zoneOfOrg(ctx)
	}
	loc, err := time.LoadLocation(o.TZ)
	if err != nil || o.TZ == "" {
		loc, o.TZ = time.UTC, "UTC"
	}
	lu := o.Until.In(loc)
	end := time.Date(lu.Year(), lu.Month()+1, 1, 0, 0, 0, 0, loc)
	start := time.Date(lu.Year(), lu.Month()-time.Month(o.Months-1), 1, 0, 0, 0, 0, loc)
	t := &Trend{Zone: o.TZ, Posts: []PostTrend{}}
	index := map[string]int{}
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		index[m.Format("2006-01")] = len(t.Months)
		t.Months = append(t.Months, m.Format("2006-01"))
	}
	posts, err := s.postsVisible(ctx, v, o.Posts)
	if err != nil {
		return nil, err
	}
	if len(posts) == 0 {
		return t, nil
	}
	outs, err := s.outcomes(ctx, `d.alert_id IN (SELECT c.alert_id FROM readiness_checks c WHERE c.state = ? AND c.alert_id IS NOT NULL
		AND c.fired_at >= ? AND c.fired_at < ?)`, StateFired, start.UTC(), end.UTC())
	if err != nil {
		return nil, err
	}
	vals := map[string][][]Stat{} // post -> month -> results
	missed := map[string][]int{}
	for _, oc := range outs {
		if _, ok := posts[oc.postID]; !ok {
			continue
		}
		r := rowOf(oc, now)
		if r.Cancelled {
			continue
		}
		i, ok := index[oc.sentAt.In(loc).Format("2006-01")]
		if !ok {
			continue
		}
		if vals[oc.postID] == nil {
			vals[oc.postID] = make([][]Stat, len(t.Months))
			missed[oc.postID] = make([]int, len(t.Months))
		}
		vals[oc.postID][i] = append(vals[oc.postID][i], r.Result)
		if r.Missed {
			missed[oc.postID][i]++
		}
	}
	for id, p := range posts {
		if len(o.Posts) == 0 && vals[id] == nil {
			continue
		}
		pt := PostTrend{PostID: id, Code: p.Code, NameEN: p.NameEN, NameRU: p.NameRU, State: p.State, Points: make([]MonthPoint, len(t.Months))}
		for i, m := range t.Months {
			pt.Points[i].Month = m
			if vals[id] == nil {
				continue
			}
			vs := vals[id][i]
			sort.SliceStable(vs, func(a, b int) bool { return vs[a].less(vs[b]) })
			pt.Points[i].Checks, pt.Points[i].Missed, pt.Points[i].Median = len(vs), missed[id][i], nearestRank(vs, 50)
		}
		t.Posts = append(t.Posts, pt)
	}
	sort.Slice(t.Posts, func(i, j int) bool { return t.Posts[i].Code < t.Posts[j].Code })
	return t, nil
}
