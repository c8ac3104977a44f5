package duty

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestICalFeedOfAPersonsShiftsParsesBack(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.s.SetFeedHost("sitroom.example.org")
		f.s.SetHorizon(10 * 24 * time.Hour)
		// A name that needs TEXT escaping and line folding.
		f.exec(`UPDATE posts SET name_en = ?, name_ru = ? WHERE id = ?`,
			`Emergency Situations, Kazakhstan; command post "Astana" \ duty desk`,
			"Министерство по чрезвычайным ситуациям Республики Казахстан, центральный командный пункт", f.kzPost)
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz1, f.kz2}}))(t)
		rows := f.rotationRows(rot.ID)
		// kz2 covers 4 hours in the middle of kz1's first shift: kz1's feed shows it in two pieces.
		must(f.s.Cover(f.kzHead(), CoverInput{ShiftID: rows[0].ID, PersonID: f.kz2, Start: rows[0].Start.Add(6 * time.Hour), End: rows[0].Start.Add(10 * time.Hour)}))(t)
		// kz1 also holds a deputy shift at the centre? No: a state's officer cannot; an org person can. kz1 gets a manual KZ deputy shift.
		f.manual(f.kzPost, f.kz1, Deputy, t0.Add(2*time.Hour), t0.Add(6*time.Hour))

		kz1 := f.as(f.kz1, postGrant(auth.PostOfficer, f.kzPost, f.kz))
		tok := must(f.s.CreateFeedToken(kz1, f.kz1))(t)
		if !strings.HasPrefix(tok.Token, "sdf_") || len(tok.Token) < 40 || !strings.HasPrefix(tok.Token, tok.Prefix) {
			t.Fatalf("token %q prefix %q", tok.Token, tok.Prefix)
		}
		var stored int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM duty_feed_tokens WHERE hash = ?`, tok.Token).Scan(&stored); err != nil || stored != 0 {
			t.Fatal("the token itself is stored")
		}
		f.clk.Advance(time.Minute)
		raw := must(f.s.FeedByToken(context.Background(), tok.Token))(t)

		// RFC 5545 §3.1: CRLF line ends, lines of at most 75 octets.
		if !bytes.HasSuffix(raw, []byte("END:VCALENDAR\r\n")) {
			t.Fatalf("feed does not end with CRLF: %q", raw[max(0, len(raw)-40):])
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
			if len(line) > 75 {
				t.Fatalf("line %d has %d octets: %q", i, len(line), line)
			}
			if strings.ContainsAny(line, "\r\n") {
				t.Fatalf("bare line break in line %d", i)
			}
		}
		if !strings.Contains(string(raw), "\r\n ") {
			t.Fatal("long values should be folded")
		}

		cal, err := ics.ParseCalendar(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("a calendar client cannot parse the feed: %v\n%s", err, raw)
		}
		calName := ""
		for _, p := range cal.CalendarProperties {
			if p.IANAToken == "X-WR-CALNAME" {
				calName = ics.FromText(p.Value)
			}
		}
		if calName != "Duty: Officer kz1" {
			t.Fatalf("X-WR-CALNAME %q", calName)
		}
		segs := must(f.s.PersonShifts(kz1, f.kz1, f.clk.Now().Add(-feedPast), f.clk.Now().Add(10*24*time.Hour)))(t)
		events := cal.Events()
		if len(events) != len(segs) || len(segs) < 6 {
			t.Fatalf("%d events, %d segments", len(events), len(segs))
		}
		split := 0
		for i, ev := range events {
			sg := segs[i]
			wantUID := sg.ShiftID + "@sitroom.example.org"
			if sg.Part > 0 {
				wantUID = sg.ShiftID + "-1@sitroom.example.org"
				split++
			}
			if ev.Id() != wantUID {
				t.Fatalf("event %d UID %q, want %q", i, ev.Id(), wantUID)
			}
			st, err1 := ev.GetStartAt()
			en, err2 := ev.GetEndAt()
			stamp, err3 := ev.GetDtStampTime()
			if err1 != nil || err2 != nil || err3 != nil || !st.Equal(sg.Start) || !en.Equal(sg.End) || !stamp.Equal(f.clk.Now()) {
				t.Fatalf("event %d: %v–%v stamp %v (%v %v %v), want %v–%v", i, st, en, stamp, err1, err2, err3, sg.Start, sg.End)
			}
			if p := ev.GetProperty(ics.ComponentPropertyDtStart); !strings.HasSuffix(p.Value, "Z") {
				t.Fatalf("DTSTART not in UTC: %q", p.Value)
			}
			summary := ev.GetProperty(ics.ComponentPropertySummary).Value
			want := `Duty: Emergency Situations, Kazakhstan; command post "Astana" \ duty desk — ` + string(sg.Slot)
			if summary != want {
				t.Fatalf("SUMMARY %q, want %q", summary, want)
			}
			desc := ev.GetProperty(ics.ComponentPropertyDescription).Value
			if !strings.Contains(desc, "Министерство по чрезвычайным ситуациям Республики Казахстан, центральный командный пункт") ||
				!strings.Contains(desc, "\n") {
				t.Fatalf("DESCRIPTION %q", desc)
			}
		}
		if split != 1 {
			t.Fatalf("%d split shifts, want 1 (the covered one)", split)
		}
		// The cover shows in kz2's feed, not kz1's.
		for _, sg := range segs {
			if sg.Source == FromOverride {
				t.Fatal("kz1's feed has kz2's cover")
			}
		}
		// Stable: the same UIDs on the next fetch.
		f.clk.Advance(2 * time.Hour)
		cal2, err := ics.ParseCalendar(bytes.NewReader(must(f.s.FeedByToken(context.Background(), tok.Token))(t)))
		if err != nil {
			t.Fatal(err)
		}
		if got := cal2.Events(); len(got) != len(events) || got[len(got)-1].Id() != events[len(events)-1].Id() {
			t.Fatal("UIDs changed between fetches")
		}

		// Who may make and revoke tokens.
		_, err = f.s.CreateFeedToken(f.as(f.kz2, postGrant(auth.PostOfficer, f.kzPost, f.kz)), f.kz1)
		wantKind(t, err, apperr.KindForbidden, "someone else's feed")
		_, err = f.s.CreateFeedToken(f.as(f.by1, stateGrant(auth.PostOfficer, f.by)), f.kz1)
		wantKind(t, err, apperr.KindNotFound, "an invisible person's feed")
		adminTok := must(f.s.CreateFeedToken(f.admin(), f.kz1))(t)
		if ts := must(f.s.FeedTokens(kz1, f.kz1))(t); len(ts) != 2 || ts[1].LastUsedAt == nil {
			t.Fatalf("tokens: %+v", ts)
		}
		wantKind(t, f.s.RevokeFeedToken(f.as(f.kz2, postGrant(auth.PostOfficer, f.kzPost, f.kz)), tok.ID), apperr.KindForbidden, "revoke someone else's token")
		if err := f.s.RevokeFeedToken(kz1, tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.FeedByToken(context.Background(), tok.Token)
		wantKind(t, err, apperr.KindNotFound, "revoked token")
		_, err = f.s.FeedByToken(context.Background(), "sdf_forged")
		wantKind(t, err, apperr.KindNotFound, "unknown token")
		must(f.s.FeedByToken(context.Background(), adminTok.Token))(t)
		if f.auditCount("duty.feed_token.create") != 2 || f.auditCount("duty.feed_token.revoke") != 1 {
			t.Fatal("one audit entry per token action")
		}
	})
}
