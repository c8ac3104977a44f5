package directory_test

import (
	"slices"
	"testing"
	"time"

	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

func TestStatusInForceFollowsTheClock(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := as(viewerGlobal())
		status := func(code string) directory.Status {
			t.Helper()
			m, err := e.s.GetMemberState(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			return m.Status
		}
		// BY is suspended from 2024-06-01 (Minsk is UTC+3).
		e.clk.Set(time.Date(2024, 5, 31, 20, 59, 0, 0, time.UTC))
		if got := status("BY"); got != directory.StatusActive {
			t.Fatalf("BY on 31 May 23:59 Minsk: %s, want active", got)
		}
		e.clk.Set(time.Date(2024, 5, 31, 21, 0, 0, 0, time.UTC))
		if got := status("BY"); got != directory.StatusSuspended {
			t.Fatalf("BY on 1 June 00:00 Minsk: %s, want suspended", got)
		}
		if got := status("KZ"); got != directory.StatusActive {
			t.Fatalf("KZ without history: %s, want active", got)
		}

		// A change dated in the future is history now, in force later.
		m, err := e.s.AddStatusChange(sys(), "KZ", directory.StatusChange{Status: directory.StatusWithdrawn, ValidFrom: "2025-01", Note: "left"})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != directory.StatusActive || len(m.History) != 1 || m.History[0].ValidFrom != "2025-01-01" {
			t.Fatalf("after adding: %+v", m)
		}
		e.clk.Set(time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
		if got := status("KZ"); got != directory.StatusWithdrawn {
			t.Fatalf("KZ in 2025: %s, want withdrawn", got)
		}
		states, _, err := e.s.ListMemberStates(ctx, directory.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range states {
			if s.Status != map[string]directory.Status{"KZ": directory.StatusWithdrawn, "BY": directory.StatusSuspended}[s.Code] {
				t.Fatalf("list says %s is %s", s.Code, s.Status)
			}
		}

		// Same day again replaces; bad input is refused.
		m, err = e.s.AddStatusChange(sys(), "KZ", directory.StatusChange{Status: directory.StatusSuspended, ValidFrom: "2025-01-01"})
		if err != nil || len(m.History) != 1 || m.Status != directory.StatusSuspended {
			t.Fatalf("replacing the 2025-01-01 change: %+v, %v", m, err)
		}
		_, err = e.s.AddStatusChange(sys(), "KZ", directory.StatusChange{Status: "gone", ValidFrom: "2025-02-30"})
		wantField(t, err, "status", "unknown_status")
		wantField(t, err, "valid_from", "invalid_date")
		if a := e.auditActions(t); a[len(a)-1] != "member_state.status" {
			t.Fatalf("last audit action %q", a[len(a)-1])
		}
	})
}

func TestSearchIsCaseInsensitiveInCyrillic(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := as(centreOfficer())
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"иван", []string{"by-duty"}},
			{"ИВАН", []string{"by-duty"}},
			{"иВаН пЕТРОВИЧ", []string{"by-duty"}},
			{"АЙДАР", []string{"kz-duty"}},
			{"KZ-DUTY", []string{"kz-duty"}},
			{"secretary", []string{"sg"}},
			{"%", nil},
			{"_", nil},
			{"ёж", nil},
		} {
			people, _, err := e.s.ListPeople(ctx, directory.ListOptions{Query: tc.query})
			if err != nil {
				t.Fatal(err)
			}
			if got := personCodes(people); !slices.Equal(got, tc.want) {
				t.Errorf("people %q: %v, want %v", tc.query, got, tc.want)
			}
		}
		states, _, err := e.s.ListMemberStates(ctx, directory.ListOptions{Query: "КАЗАХСТАН"})
		if err != nil || len(states) != 1 || states[0].Code != "KZ" {
			t.Fatalf("states КАЗАХСТАН: %+v, %v", states, err)
		}
		posts, _, err := e.s.ListPosts(ctx, directory.ListOptions{Query: "командный ПУНКТ"})
		if err != nil || !slices.Equal(postCodes(posts), []string{"KZ-MES-CP", "BY-MOD-CP"}) {
			t.Fatalf("posts командный ПУНКТ: %v, %v", postCodes(posts), err)
		}
		bodies, _, err := e.s.ListBodies(ctx, directory.ListOptions{Query: "ЦЕНТР"})
		if err != nil || len(bodies) != 1 || bodies[0].Code != "CRC" {
			t.Fatalf("bodies ЦЕНТР: %+v, %v", bodies, err)
		}
		// Search does not reach past scope: a global viewer cannot find by-duty.
		people, _, err := e.s.ListPeople(as(viewerGlobal()), directory.ListOptions{Query: "иван"})
		if err != nil || len(people) != 0 {
			t.Fatalf("viewer found %v", personCodes(people))
		}
	})
}
