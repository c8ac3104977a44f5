package duty

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// countingQuerier counts the statements run through it.
type countingQuerier struct {
	q db.Querier
	n atomic.Int64
}

func (c *countingQuerier) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.q.Exec(ctx, q, args...)
}
func (c *countingQuerier) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.q.Query(ctx, q, args...)
}
func (c *countingQuerier) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.q.QueryRow(ctx, q, args...)
}

// seedPosts inserts n ministry posts of state stateID, each with a primary
// and a deputy on duty over [start, end), people of that state, with
// multi-row INSERTs. Post i's primary is person i; every third post has a
// cover for its primary from at to end by its deputy's person... (see below).
func seedPosts(tb testing.TB, d *db.DB, stateID, prefix string, n int, start, end time.Time) (posts, primaries, deputies []string) {
	tb.Helper()
	ctx := context.Background()
	now := clock.Norm(start)
	const batch = 400
	insert := func(table, cols string, nargs int, rows [][]any) {
		for len(rows) > 0 {
			k := min(batch, len(rows))
			var b strings.Builder
			b.WriteString("INSERT INTO " + table + " " + cols + " VALUES ")
			var args []any
			for i, r := range rows[:k] {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(" + placeholders(nargs) + ")")
				args = append(args, r...)
			}
			if _, err := d.Exec(ctx, b.String(), args...); err != nil {
				tb.Fatal(err)
			}
			rows = rows[k:]
		}
	}
	var people, users, postRows, shifts [][]any
	for i := 0; i < n; i++ {
		p, dep, post := db.NewID(), db.NewID(), db.NewID()
		posts, primaries, deputies = append(posts, post), append(primaries, p), append(deputies, dep)
		for j, id := range []string{p, dep} {
			code := fmt.Sprintf("%s-%d-%d", prefix, i, j)
			people = append(people, []any{id, code, "Officer " + code, "Офицер " + code, stateID, now, now})
			if j == 0 {
				users = append(users, []any{db.NewID(), id, code + "@example.org", now, now})
			}
		}
		postRows = append(postRows, []any{post, fmt.Sprintf("%s-%05d", prefix, i), "ministry", "Post", "Пост", stateID, "Asia/Almaty", now, now})
		shifts = append(shifts,
			[]any{db.NewID(), post, p, "primary", start, end, "rotation", "", "", now},
			[]any{db.NewID(), post, dep, "deputy", start, end, "rotation", "", "", now})
	}
	insert("people", "(id, code, name_en, name_ru, state_id, created_at, updated_at)", 7, people)
	insert("users", "(id, person_id, login, created_at, updated_at)", 5, users)
	insert("posts", "(id, code, kind, name_en, name_ru, state_id, tz, created_at, updated_at)", 9, postRows)
	insert("duty_shifts", "(id, post_id, person_id, slot, start_at, end_at, source, kind, created_by, created_at)", 10, shifts)
	return posts, primaries, deputies
}

func TestOnDutyForAThousandPostsInOneQuery(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		start, end := t0.Add(-3*time.Hour), t0.Add(21*time.Hour)
		posts, prim, dep := seedPosts(t, d, f.kz, "P", 1000, start, end)
		// Post 7's primary is covered by kz1 from an hour ago; post 8's shift ended already.
		f.exec(`INSERT INTO duty_shifts (id, post_id, person_id, slot, start_at, end_at, source, kind, created_by, created_at)
			VALUES (?, ?, ?, 'primary', ?, ?, 'override', 'cover', '', ?)`, db.NewID(), posts[7], f.kz1, t0.Add(-time.Hour), end, t0)
		f.exec(`UPDATE duty_shifts SET end_at = ? WHERE post_id = ?`, t0.Add(-time.Minute), posts[8])

		cq := &countingQuerier{q: d}
		m := must(f.s.OnDutySystem(context.Background(), cq, posts, t0))(t)
		if n := cq.n.Load(); n != 1 {
			t.Fatalf("%d statements for 1,000 posts, want 1", n)
		}
		if len(m) != 999 {
			t.Fatalf("%d posts with someone on duty, want 999", len(m))
		}
		for i, p := range posts {
			es := m[p]
			switch i {
			case 8:
				if len(es) != 0 {
					t.Fatalf("post 8: %+v", es)
				}
				continue
			case 7:
				if es[0].PersonID != f.kz1 || es[0].Slot != Primary || es[0].Login != "kz1@example.org" {
					t.Fatalf("post 7, cover not applied: %+v", es[0])
				}
			default:
				if es[0].PersonID != prim[i] || es[0].Slot != Primary || es[0].Login == "" || es[0].UserID == "" {
					t.Fatalf("post %d primary: %+v", i, es[0])
				}
			}
			if len(es) != 2 || es[1].PersonID != dep[i] || es[1].Slot != Deputy || es[1].Login != "" {
				t.Fatalf("post %d deputy: %+v", i, es)
			}
			if !es[1].Start.Equal(start) || !es[1].End.Equal(end) || es[1].Name.EN == "" || es[1].Name.RU == "" {
				t.Fatalf("post %d entry: %+v", i, es[1])
			}
		}
		// The scoped variant: a Belarusian officer sees none of them; the KZ head sees all; one query either way.
		if got := must(f.s.OnDuty(f.as(f.by1, stateGrant(auth.PostOfficer, f.by)), posts, t0))(t); len(got) != 0 {
			t.Fatalf("another state's officer sees %d posts", len(got))
		}
		if got := must(f.s.OnDuty(f.kzHead(), posts, t0))(t); len(got) != 999 {
			t.Fatalf("the state's head sees %d posts", len(got))
		}
		_, err := f.s.OnDuty(context.Background(), posts, t0)
		wantKind(t, err, apperr.KindUnauthorized, "anonymous")
		// IsOnDuty follows the same rules.
		for _, c := range []struct {
			person, post string
			want         bool
		}{{prim[0], posts[0], true}, {dep[0], posts[0], true}, {prim[7], posts[7], false}, {f.kz1, posts[7], true}, {prim[0], posts[1], false}, {prim[8], posts[8], false}} {
			if got := must(f.s.IsOnDuty(context.Background(), d, c.person, c.post, t0))(t); got != c.want {
				t.Fatalf("IsOnDuty(%s, %s) = %v", c.person, c.post, got)
			}
		}
	})
}

func TestBoardListsVisiblePostsWithLocalTimeAndMarshalsAsTheAPI(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.manual(f.kzPost, f.kz3, Primary, t0, t0.Add(12*time.Hour))
		f.manual(f.kzPost, f.kz1, Deputy, t0, t0.Add(12*time.Hour))
		f.manual(f.centre, f.org2, Primary, t0, t0.Add(12*time.Hour))
		archived := f.post("KZ-OLD", "ministry", f.kz, "Asia/Almaty", "")
		f.exec(`UPDATE posts SET active_to = ? WHERE id = ?`, t0.Add(-time.Hour), archived)
		at := t0.Add(time.Hour)

		b := must(f.s.Board(f.supervisor(), at))(t)
		var codes []string
		for _, it := range b.Items {
			codes = append(codes, it.Post.Code)
		}
		if strings.Join(codes, ",") != "CRC,BY-MOD,KZ-MES" {
			t.Fatalf("board posts: %v (centre first, archived left out)", codes)
		}
		kz := b.Items[2]
		if kz.Post.LocalTime != "2024-01-15T19:00:00+06:00" || kz.Post.UTCOffset != "+06:00" || kz.Post.TZ != "Asia/Almaty" || kz.Post.State != "KZ" {
			t.Fatalf("KZ-MES post: %+v", kz.Post)
		}
		if len(kz.OnDuty) != 2 || kz.OnDuty[0].PersonID != f.kz3 || kz.OnDuty[1].PersonID != f.kz1 {
			t.Fatalf("KZ-MES on duty: %+v", kz.OnDuty)
		}
		raw := must(json.Marshal(b))(t)
		var generic map[string][]map[string]json.RawMessage
		if err := json.Unmarshal(raw, &generic); err != nil || len(generic) != 1 || generic["items"] == nil {
			t.Fatalf("top level is not {\"items\":[…]}: %s", raw)
		}
		var shape struct {
			Items []struct {
				Post   map[string]any   `json:"post"`
				OnDuty []map[string]any `json:"on_duty"`
			} `json:"items"`
		}
		if err := json.Unmarshal(raw, &shape); err != nil {
			t.Fatal(err)
		}
		if shape.Items[1].OnDuty == nil || len(shape.Items[1].OnDuty) != 0 {
			t.Fatalf("a post with nobody on duty has \"on_duty\": [] — got %s", raw)
		}
		e := shape.Items[2].OnDuty[0]
		keys := []string{}
		for k := range e {
			keys = append(keys, k)
		}
		if len(e) != 6 || e["person_id"] != f.kz3 || e["login"] != nil || e["slot"] != "primary" ||
			e["start"] != "2024-01-15T12:00:00Z" || e["end"] != "2024-01-16T00:00:00Z" {
			t.Fatalf("on_duty entry %v (keys %v)", e, keys)
		}
		if n, _ := e["name"].(map[string]any); n["en"] != "Officer kz3" || n["ru"] != "Офицер kz3" {
			t.Fatalf("name: %v", e["name"])
		}
		if shape.Items[2].OnDuty[1]["login"] != "kz1@example.org" {
			t.Fatalf("login of a person with a user: %v", shape.Items[2].OnDuty[1]["login"])
		}
		if shape.Items[2].Post["id"] != f.kzPost || shape.Items[2].Post["local_time"] == nil {
			t.Fatalf("post object: %v", shape.Items[2].Post)
		}

		// A Belarusian officer's board: the organisation's desk and their own state's post.
		b2 := must(f.s.Board(f.as(f.by1, stateGrant(auth.PostOfficer, f.by)), at))(t)
		codes = nil
		for _, it := range b2.Items {
			codes = append(codes, it.Post.Code)
		}
		if strings.Join(codes, ",") != "CRC,BY-MOD" || len(b2.Items[0].OnDuty) != 1 {
			t.Fatalf("scoped board: %v", codes)
		}
	})
}

func TestGapsReportsEveryIntervalWithNobodyOnDuty(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
		// KZ-MES over 2 days: primary h1–h10, deputy h8–h20 (overlap: no gap), then nobody till a
		// rotation that begins tomorrow 09:00 local (h15 = 03:00Z) — but its first shift is covered, still counts.
		f.manual(f.kzPost, f.kz1, Primary, h(1), h(10))
		f.manual(f.kzPost, f.kz2, Deputy, h(8), h(14))
		f.manual(f.kzPost, f.kz4, Deputy, h(30), h(33))
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz3}}))(t)
		first := f.rotationRows(rot.ID)[0]
		must(f.s.Cover(f.kzHead(), CoverInput{ShiftID: first.ID, PersonID: f.kz1, Start: h(16), End: h(18)}))(t)
		// Post BY-MOD: a single shift; the centre: nobody at all.
		f.manual(f.byPost, f.by1, Primary, h(0), h(24))

		got := must(f.s.Gaps(f.supervisor(), "", t0, 2))(t)
		want := map[string][]Interval{
			"KZ-MES": {{h(0), h(1)}, {h(14), h(15)}},
			"BY-MOD": {{h(24), h(48)}},
			"CRC":    {{h(0), h(48)}},
		}
		if len(got) != len(want) {
			t.Fatalf("gaps: %+v", got)
		}
		for _, pg := range got {
			w := want[pg.Code]
			if len(pg.Gaps) != len(w) {
				t.Fatalf("%s: %v, want %v", pg.Code, pg.Gaps, w)
			}
			for i := range w {
				if !pg.Gaps[i].Start.Equal(w[i].Start) || !pg.Gaps[i].End.Equal(w[i].End) {
					t.Fatalf("%s gap %d: %s–%s, want %s–%s", pg.Code, i, fmtT(pg.Gaps[i].Start), fmtT(pg.Gaps[i].End), fmtT(w[i].Start), fmtT(w[i].End))
				}
			}
		}
		// One post; a scoped reader sees only what they may.
		one := must(f.s.Gaps(f.kzHead(), f.kzPost, t0, 2))(t)
		if len(one) != 1 || one[0].Code != "KZ-MES" {
			t.Fatalf("one post: %+v", one)
		}
		mine := must(f.s.Gaps(f.kzHead(), "", t0, 2))(t)
		for _, pg := range mine {
			if pg.Code == "BY-MOD" {
				t.Fatal("the KZ head sees Belarus's gaps")
			}
		}
		_, err := f.s.Gaps(f.kzHead(), f.byPost, t0, 2)
		wantKind(t, err, apperr.KindNotFound, "another state's post")
		_, err = f.s.Gaps(f.kzHead(), "", t0, 0)
		wantField(t, err, "days", "out_of_range")
	})
}

func TestAPersonWhoLeftIsOnDutyNowhereAndLeavesAGap(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.s.SetHorizon(6 * 24 * time.Hour)
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-15", Team: []string{f.kz1, f.kz2}}))(t)
		rows := f.rotationRows(rot.ID) // kz1 on the 15th, kz2 16th, kz1 17th …
		leaves := rows[2].Start.Add(6 * time.Hour)
		// kz1 leaves the organisation during their shift on the 17th; the directory archives them.
		f.exec(`UPDATE people SET active_to = ? WHERE id = ?`, leaves, f.kz1)
		if got := f.names(f.onDutyAt(f.kzPost, leaves.Add(-time.Hour))); got != "kz1/primary" {
			t.Fatalf("before leaving: %s", got)
		}
		if got := f.onDutyAt(f.kzPost, leaves.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("after leaving, still on duty: %s", f.names(got))
		}
		gaps := must(f.s.Gaps(f.kzHead(), f.kzPost, t0, 6))(t)
		// From the moment they left to the end of that shift, and each later turn of theirs.
		if len(gaps) != 1 || len(gaps[0].Gaps) != 3 || !gaps[0].Gaps[0].Start.Equal(leaves) || !gaps[0].Gaps[0].End.Equal(rows[2].End) ||
			!gaps[0].Gaps[1].Start.Equal(rows[4].Start) || !gaps[0].Gaps[1].End.Equal(rows[4].End) {
			t.Fatalf("gaps: %+v", gaps)
		}
		// The rotation generates no more shifts for them: the gap shows on their turns.
		lastBefore := rows[len(rows)-1].Start
		f.clk.Set(rows[3].Start)
		if n := must(f.s.ExtendHorizon(context.Background()))(t); n != 1 {
			t.Fatalf("3 days later the rotation added %d shifts, want 1 (kz2's; kz1's two are left out)", n)
		}
		for _, r := range f.rotationRows(rot.ID) {
			if r.PersonID == f.kz1 && r.Start.After(lastBefore) {
				t.Fatalf("a shift for kz1 generated at %v, after they left", r.Start)
			}
		}
		// A post archived by the directory gets no more shifts either.
		f.exec(`UPDATE posts SET active_to = ? WHERE id = ?`, f.clk.Now(), f.kzPost)
		before := len(f.rotationRows(rot.ID))
		f.clk.Advance(5 * 24 * time.Hour)
		if n := must(f.s.ExtendHorizon(context.Background()))(t); n != 0 || len(f.rotationRows(rot.ID)) != before {
			t.Fatalf("rotation of an archived post extended by %d", n)
		}
	})
}
