package duty

import (
	"sort"
	"time"
)

// row is a stored shift with what readers join to it.
type row struct {
	Shift
	userID, login, email, phone string
}

// beats tells whether a takes precedence over b where both cover an
// instant: the higher source wins (override > manual > rotation); among
// equals the later created, which is the greater id (ids are UUIDv7,
// time-ordered, and compare as strings on both engines).
func beats(a, b *row) bool {
	if ra, rb := a.Source.rank(), b.Source.rank(); ra != rb {
		return ra > rb
	}
	return a.ID > b.ID
}

// effective computes, for rows of ONE post and slot, the segments during
// which each row is the one in force. Nothing is clipped: callers keep the
// segments they need. It sweeps the boundaries once, keeping the rows that
// cover the current instant (rarely more than two).
func effective(rows []*row) []effSeg {
	switch len(rows) {
	case 0:
		return nil
	case 1:
		return []effSeg{{r: rows[0], Start: rows[0].Start, End: rows[0].End}}
	}
	byStart := make([]*row, len(rows))
	copy(byStart, rows)
	sort.Slice(byStart, func(i, j int) bool { return byStart[i].Start.Before(byStart[j].Start) })
	bounds := make([]time.Time, 0, 2*len(rows))
	for _, r := range rows {
		bounds = append(bounds, r.Start, r.End)
	}
	sort.Slice(bounds, func(i, j int) bool { return bounds[i].Before(bounds[j]) })

	var out []effSeg
	var active []*row
	next := 0
	for i := 0; i < len(bounds)-1; i++ {
		b, e := bounds[i], bounds[i+1]
		if !b.Before(e) {
			continue
		}
		for next < len(byStart) && !byStart[next].Start.After(b) {
			active = append(active, byStart[next])
			next++
		}
		kept := active[:0]
		for _, r := range active {
			if r.End.After(b) {
				kept = append(kept, r)
			}
		}
		active = kept
		var win *row
		for _, r := range active {
			if win == nil || beats(r, win) {
				win = r
			}
		}
		if win == nil {
			continue
		}
		if n := len(out); n > 0 && out[n-1].r == win && out[n-1].End.Equal(b) {
			out[n-1].End = e
			continue
		}
		part := 0
		for _, o := range out {
			if o.r == win {
				part++
			}
		}
		out = append(out, effSeg{r: win, Start: b, End: e, Part: part})
	}
	return out
}

// effSeg is a segment still holding its row.
type effSeg struct {
	r          *row
	Start, End time.Time
	Part       int
}

func (s effSeg) segment() Segment {
	return Segment{
		ShiftID: s.r.ID, Part: s.Part, PostID: s.r.PostID, PersonID: s.r.PersonID, PersonName: s.r.PersonName,
		Slot: s.r.Slot, Start: s.Start, End: s.End, Source: s.r.Source, Kind: s.r.Kind,
	}
}

// effectiveAll runs effective over every post and slot among rows and
// returns the segments ordered by post, slot, start. It sorts rather than
// builds a map: "who is on duty" runs it over 20,000 rows at once.
func effectiveAll(rows []*row) []effSeg {
	sorted := make([]*row, len(rows))
	copy(sorted, rows)
	sort.Slice(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if a.PostID != b.PostID {
			return a.PostID < b.PostID
		}
		return a.Slot < b.Slot
	})
	out := make([]effSeg, 0, len(rows))
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j].PostID == sorted[i].PostID && sorted[j].Slot == sorted[i].Slot {
			j++
		}
		out = append(out, effective(sorted[i:j])...)
		i = j
	}
	return out
}

// union merges intervals (any order) into sorted, disjoint ones.
func union(iv []Interval) []Interval {
	if len(iv) == 0 {
		return nil
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i].Start.Before(iv[j].Start) })
	out := []Interval{iv[0]}
	for _, x := range iv[1:] {
		last := &out[len(out)-1]
		if !x.Start.After(last.End) {
			if x.End.After(last.End) {
				last.End = x.End
			}
			continue
		}
		out = append(out, x)
	}
	return out
}

// complement returns the parts of [from, to) that covered (sorted,
// disjoint) leaves uncovered.
func complement(covered []Interval, from, to time.Time) []Interval {
	var out []Interval
	cur := from
	for _, c := range covered {
		if !c.End.After(cur) {
			continue
		}
		if !c.Start.Before(to) {
			break
		}
		if c.Start.After(cur) {
			out = append(out, Interval{cur, c.Start})
		}
		if c.End.After(cur) {
			cur = c.End
		}
	}
	if cur.Before(to) {
		out = append(out, Interval{cur, to})
	}
	return out
}
