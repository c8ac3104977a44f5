package demo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
	"sitroom/internal/testutil"
)

// Seed instants chosen around the hand-overs: the gap post (Asia/Bishkek,
// UTC+6) hands over at 09:00 = 03:00Z, the centre desk (Europe/Moscow)
// at 08:00 and 20:00 = 05:00Z and 17:00Z.
var seedInstants = []struct {
	name string
	at   string
}{
	{"mid-morning", "2025-03-12T06:30:00Z"},
	{"a second before the gap post's hand-over", "2025-03-12T02:59:59Z"},
	{"just after the gap post's hand-over", "2025-03-12T03:00:30Z"},
	{"a second before the centre's night shift, first of the month", "2025-04-01T16:59:59Z"},
}

func TestSeedRostersStaffsEveryPostNowWithOneGapNextWeekAndOnlyOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range seedInstants {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
				at, _ := time.Parse(time.RFC3339, tc.at)
				w := newWorld(t, d, at)
				rep := w.rosters
				if len(rep.Posts) != 16 || rep.Rotations != 32 || rep.Path != demo.PathPost || rep.Gap == nil || rep.Shifts == 0 {
					t.Fatalf("report: %+v", rep)
				}

				// Both slots of every post are filled now, by people who can sign in.
				board, err := w.duty.Board(sys(), at)
				if err != nil {
					t.Fatal(err)
				}
				if len(board.Items) != 16 {
					t.Fatalf("board has %d posts, want 16", len(board.Items))
				}
				for _, it := range board.Items {
					slots := map[duty.Slot]string{}
					for _, e := range it.OnDuty {
						if e.Login == "" {
							t.Errorf("%s: %s on duty without a user", it.Post.Code, e.Name.EN)
						}
						slots[e.Slot] = e.PersonID
					}
					if slots[duty.Primary] == "" || slots[duty.Deputy] == "" || slots[duty.Primary] == slots[duty.Deputy] {
						t.Errorf("%s: on duty now %+v, want a primary and a different deputy", it.Post.Code, it.OnDuty)
					}
				}

				// The next 60 days have exactly one gap: a night at the gap post next week.
				gaps, err := w.duty.Gaps(sys(), "", at, 60)
				if err != nil {
					t.Fatal(err)
				}
				if len(gaps) != 1 || gaps[0].Code != demo.GapPost || len(gaps[0].Gaps) != 1 || gaps[0].Gaps[0] != *rep.Gap {
					t.Fatalf("gaps %+v, want only %s %+v", gaps, demo.GapPost, *rep.Gap)
				}
				loc, _ := time.LoadLocation(gaps[0].TZ)
				g := *rep.Gap
				if ahead := g.Start.Sub(at); ahead < 6*24*time.Hour || ahead > 8*24*time.Hour {
					t.Errorf("the gap starts %v after the seed, want next week", ahead)
				}
				if s, e := g.Start.In(loc), g.End.In(loc); s.Hour() != 21 || e.Hour() != 9 || e.Sub(s) != 12*time.Hour {
					t.Errorf("the gap runs %v – %v local, want 21:00 – 09:00", s, e)
				}
				gapPost := w.postID(t, demo.GapPost)
				before, _ := w.duty.OnDutySystem(context.Background(), d, []string{gapPost}, g.Start.Add(-time.Minute))
				during, _ := w.duty.OnDutySystem(context.Background(), d, []string{gapPost}, g.Start.Add(time.Hour))
				after, _ := w.duty.OnDutySystem(context.Background(), d, []string{gapPost}, g.End)
				if len(before[gapPost]) != 2 || len(during[gapPost]) != 0 || len(after[gapPost]) != 2 {
					t.Errorf("at the gap post: %d on duty before the gap, %d during, %d after; want 2, 0, 2",
						len(before[gapPost]), len(during[gapPost]), len(after[gapPost]))
				}

				// A ministry post's month: 24-hour shifts from 09:00, the two officers taking turns.
				by := w.postID(t, "BY-MOD-CP")
				ro, err := w.duty.Roster(sys(), by, at, at.Add(30*24*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				var prim []duty.Segment
				for _, s := range ro.Effective {
					if s.Slot == duty.Primary {
						prim = append(prim, s)
					}
				}
				minsk, _ := time.LoadLocation("Europe/Minsk")
				if len(prim) < 30 {
					t.Fatalf("BY-MOD-CP has %d primary shifts in 30 days", len(prim))
				}
				for i, s := range prim[1:] {
					if s.PersonID == prim[i].PersonID || s.Start.In(minsk).Hour() != 9 || s.End.Sub(s.Start) != 24*time.Hour && s.End.Before(at.Add(30*24*time.Hour)) {
						t.Errorf("BY-MOD-CP primary shift %d: %s %v – %v follows %s", i+1, s.PersonName.EN, s.Start, s.End, prim[i].PersonName.EN)
					}
				}

				// One post has its own escalation path, with a named centre supervisor at level 2.
				paths := map[string]bool{}
				for _, it := range board.Items {
					p, err := w.duty.EscalationPath(sys(), it.Post.ID)
					if err != nil {
						t.Fatal(err)
					}
					paths[it.Post.Code] = !p.Default
					if it.Post.Code == demo.PathPost {
						sup, _ := w.dir.GetPerson(sys(), "p-ignatov")
						if len(p.Levels) != 4 || p.Levels[2].Targets[0].Target != duty.TargetPerson || p.Levels[2].Targets[0].PersonID != sup.ID {
							t.Errorf("%s path: %+v", demo.PathPost, p.Levels)
						}
					}
				}
				for code, own := range paths {
					if own != (code == demo.PathPost) {
						t.Errorf("%s has its own path: %v", code, own)
					}
				}

				// Again, an hour later: nothing is created twice.
				count := func() (rots, shifts int) {
					for _, it := range board.Items {
						rs, err := w.duty.Rotations(sys(), it.Post.ID)
						if err != nil {
							t.Fatal(err)
						}
						ro, err := w.duty.Roster(sys(), it.Post.ID, at.Add(-48*time.Hour), at.Add(90*24*time.Hour))
						if err != nil {
							t.Fatal(err)
						}
						rots, shifts = rots+len(rs), shifts+len(ro.Shifts)
					}
					return
				}
				r1, s1 := count()
				w.clk.Advance(time.Hour)
				again, err := demo.SeedRosters(context.Background(), w.clk, w.dir, w.duty)
				if err != nil {
					t.Fatal(err)
				}
				if len(again.Posts) != 0 || again.Rotations != 0 || again.Shifts != 0 || again.Gap != nil || again.Path != "" {
					t.Errorf("second seed wrote %+v", again)
				}
				if r2, s2 := count(); r2 != r1 || s2 != s1 {
					t.Errorf("second seed: %d rotations and %d shifts, were %d and %d", r2, s2, r1, s1)
				}
			})
		})
	}
}

func TestSeedReadinessSchedulesTheWeeklyCheckOnceAndSendsOneStartupCheck(t *testing.T) {
	t.Parallel()
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		at, _ := time.Parse(time.RFC3339, "2025-03-12T06:30:00Z")
		w := newWorld(t, d, at)
		rep, err := demo.SeedReadiness(context.Background(), w.dir, w.rd, true)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Series == nil || rep.Series.Next == nil || rep.Startup == nil {
			t.Fatalf("report: %+v", rep)
		}
		msk, _ := time.LoadLocation("Europe/Moscow")
		next := rep.Series.Next.FireAt.In(msk)
		if next.Weekday() != time.Friday || next.Hour() < 10 || next.Hour() >= 16 || next.Before(at) || next.Sub(at) > 7*24*time.Hour {
			t.Errorf("next weekly check at %v, want the coming Friday 10:00–16:00 Moscow time", next)
		}
		if rep.Startup.AlertID == nil {
			t.Fatalf("start-up check not sent: %+v", rep.Startup)
		}
		al := w.get(t, *rep.Startup.AlertID)
		if !al.Exercise || al.Recipients != 13 { // every active ministry post; Armenia's are suspended, the centre sends
			t.Errorf("start-up check alert: exercise %v, %d recipients", al.Exercise, al.Recipients)
		}

		again, err := demo.SeedReadiness(context.Background(), w.dir, w.rd, false)
		if err != nil || again.Series != nil || again.Startup != nil {
			t.Fatalf("second seed: %+v %v", again, err)
		}
		all, err := w.rd.ListSeries(sys(), false)
		if err != nil || len(all) != 1 {
			t.Errorf("%d series (%v), want 1", len(all), err)
		}
	})
}

func TestSeedingLeavesAStoreWithoutTheDemoOrganisationAlone(t *testing.T) {
	t.Parallel()
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clk := clock.NewFake(lifeT0, false)
		a := audit.New(d, clk)
		dir := directory.New(d, clk, a)
		// Another organisation, with a post whose code the demo also uses.
		f, err := directory.ParseFile(strings.NewReader(`
organisation: {name_en: Other, name_ru: Другая, tz: Europe/Moscow}
member_states:
  - {code: KG, name_en: Kyrgyz Republic, name_ru: Кыргызская Республика, tz: Asia/Bishkek,
     status_history: [{status: active, valid_from: "1992-05-15"}]}
bodies:
  - {code: KG-MES, kind: ministry, name_en: Ministry, name_ru: Министерство, state: KG}
posts:
  - {code: KG-MES-CP, kind: ministry, name_en: Post, name_ru: Пост, state: KG, body: KG-MES, ministry_kind: emergency}
`), "other.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dir.Import(sys(), f, directory.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		if in, err := demo.InStore(ctx, dir); err != nil || in {
			t.Fatalf("InStore = %v, %v on another organisation's store", in, err)
		}
		ds := duty.New(d, clk, a)
		rep, err := demo.SeedRosters(ctx, clk, dir, ds)
		if err != nil || len(rep.Posts) != 0 || rep.Rotations != 0 {
			t.Fatalf("SeedRosters on another organisation: %+v %v", rep, err)
		}
		post, err := dir.GetPost(sys(), "KG-MES-CP")
		if err != nil {
			t.Fatal(err)
		}
		if rs, err := ds.Rotations(sys(), post.ID); err != nil || len(rs) != 0 {
			t.Errorf("rotations %+v %v", rs, err)
		}
	})
}
