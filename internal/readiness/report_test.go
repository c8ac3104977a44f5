package readiness_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/readiness"
	"sitroom/internal/testutil"
)

func codes(rows []readiness.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Code)
	}
	return out
}

func rowFor(t *testing.T, rep *readiness.Report, code string) readiness.Row {
	t.Helper()
	for _, r := range rep.Rows {
		if r.Code == code {
			return r
		}
	}
	t.Fatalf("no row for %s", code)
	return readiness.Row{}
}

func TestReportCountsMissesAsInfiniteAndKeepsLatePhoneAndEscalationApart(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		c := w.runCheck(t, t0, firstScenario)
		rep, err := w.s.Report(as("centre"), c.ID, readiness.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sm := rep.Summary
		// Ten posts: 30 60 90 120 150 200 300 s on time, three misses (P08 late, P09 phone only, P10 silent).
		// Median = 5th fastest = 150 s; p90 = 9th = a miss, so "> deadline" (30% missed > 10%).
		if sm.Addressed != 10 || sm.OnTime != 7 || sm.Late != 1 || sm.Missed != 3 || sm.NotAcknowledged != 2 || sm.Pending != 0 ||
			sm.AfterEscalation != 2 || sm.Phone != 1 || sm.PhoneOnly != 1 || sm.Cancelled != 0 {
			t.Fatalf("counts: %+v", sm)
		}
		if sm.Median != readiness.Finite(150*time.Second) || sm.Median.String() != "2m30s" {
			t.Fatalf("median %+v (%s)", sm.Median, sm.Median)
		}
		if !sm.P90.Over || sm.P90.String() != "> deadline" {
			t.Fatalf("p90 %+v (%s)", sm.P90, sm.P90)
		}
		if !rep.Final || rep.Partial || !rep.SentAt.Equal(t0) || !rep.DeadlineAt.Equal(t0.Add(10*time.Minute)) {
			t.Fatalf("report: final=%v partial=%v sent=%v deadline=%v", rep.Final, rep.Partial, rep.SentAt, rep.DeadlineAt)
		}
		if got := fmt.Sprint(codes(rep.Rows)); got != "[P01 P02 P03 P04 P05 P07 P06 P08 P09 P10]" {
			t.Fatalf("ranking %s", got)
		}
		for i, r := range rep.Rows {
			if r.Rank != i+1 {
				t.Errorf("%s ranked %d at position %d", r.Code, r.Rank, i+1)
			}
		}
		p07, p08, p09, p10 := rowFor(t, rep, "P07"), rowFor(t, rep, "P08"), rowFor(t, rep, "P09"), rowFor(t, rep, "P10")
		if !p07.AfterEscalation || p07.Late || p07.Missed || p07.Result != readiness.Finite(200*time.Second) {
			t.Errorf("P07 (nobody on duty, deputy acknowledged in time): %+v", p07)
		}
		if !p08.Late || !p08.Missed || !p08.AfterEscalation || p08.Elapsed != readiness.Finite(700*time.Second) || !p08.Result.Over {
			t.Errorf("P08 (late): %+v", p08)
		}
		if !p09.Phone || p09.AckedAt != nil || !p09.Missed || p09.Late || p09.PhoneAt == nil || !p09.PhoneAt.Equal(t0.Add(650*time.Second)) {
			t.Errorf("P09 (phone only): %+v", p09)
		}
		if !p10.Missed || p10.Phone || p10.Late || p10.AckedAt != nil || p10.Elapsed.Valid {
			t.Errorf("P10 (silent): %+v", p10)
		}
		if p01 := rowFor(t, rep, "P01"); p01.Result != readiness.Finite(30*time.Second) || p01.Missed || p01.AfterEscalation || p01.State != "KZ" {
			t.Errorf("P01: %+v", p01)
		}
		if len(rep.Previous) != 0 {
			t.Errorf("previous checks of the first check: %+v", rep.Previous)
		}
	})
}

func TestReportComparesWithPreviousChecks(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		first := w.runCheck(t, t0, firstScenario)
		second := w.runCheck(t, t0.Add(24*time.Hour), []act{
			{20 * time.Second, "P01", "ack"}, {45 * time.Second, "P10", "ack"}, {60 * time.Second, "P02", "ack"},
			{100 * time.Second, "P03", "ack"}, {100 * time.Second, "P04", "ack"}, {110 * time.Second, "P05", "ack"},
			{120 * time.Second, "P06", "ack"}, {130 * time.Second, "P08", "ack"}, {140 * time.Second, "P09", "ack"},
		}) // P07: nobody on duty, nobody answers this time
		rep, err := w.s.Report(as("centre"), second.ID, readiness.ReportOptions{Previous: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Previous) != 1 || rep.Previous[0].CheckID != first.ID || rep.Previous[0].Median != readiness.Finite(150*time.Second) ||
			!rep.Previous[0].P90.Over || rep.Previous[0].Missed != 3 || !rep.Previous[0].SentAt.Equal(t0) {
			t.Fatalf("previous: %+v", rep.Previous)
		}
		// This time: 20 45 60 100 100 110 120 130 140, P07 missed: median 100 s, p90 140 s (10% missed is not more than 10%).
		if rep.Summary.Median != readiness.Finite(100*time.Second) || rep.Summary.P90 != readiness.Finite(140*time.Second) || rep.Summary.Missed != 1 {
			t.Fatalf("summary: %+v", rep.Summary)
		}
		if r3, r4 := rowFor(t, rep, "P03"), rowFor(t, rep, "P04"); r3.Rank != 4 || r4.Rank != 4 || rowFor(t, rep, "P05").Rank != 6 {
			t.Errorf("equal times share a rank: P03 %d, P04 %d", r3.Rank, r4.Rank)
		}
		want := map[string]string{"P01": "faster -10", "P02": "same 0", "P03": "slower 10", "P10": "recovered", "P07": "missed",
			"P08": "recovered", "P09": "recovered"}
		for code, w := range want {
			pc := rowFor(t, rep, code).Previous
			if pc == nil || pc.CheckID != first.ID {
				t.Errorf("%s: no comparison: %+v", code, pc)
				continue
			}
			got := pc.Change
			if pc.DeltaSeconds != nil {
				got += fmt.Sprintf(" %.0f", *pc.DeltaSeconds)
			}
			if got != w {
				t.Errorf("%s: %s, want %s", code, got, w)
			}
		}
		// Comparisons run backwards only.
		if rep1, _ := w.s.Report(as("centre"), first.ID, readiness.ReportOptions{}); len(rep1.Previous) != 0 || rep1.Rows[0].Previous != nil {
			t.Fatalf("the first check compares with a later one: %+v", rep1.Previous)
		}
		// A third check missed by everyone: p90 and median are "> deadline".
		third := w.runCheck(t, t0.Add(48*time.Hour), nil)
		rep3, _ := w.s.Report(as("centre"), third.ID, readiness.ReportOptions{})
		if !rep3.Summary.Median.Over || !rep3.Summary.P90.Over || len(rep3.Previous) != 2 || rep3.Previous[0].CheckID != second.ID {
			t.Fatalf("third: %+v previous %d", rep3.Summary, len(rep3.Previous))
		}
		if pc := rowFor(t, rep3, "P07").Previous; pc == nil || pc.Change != "missed_again" || pc.CheckID != second.ID {
			t.Fatalf("P07 third: %+v", pc)
		}
	})
}

func TestReportsAreForTheCentreAdminsAndHeadsOfTheirOwnPosts(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		c := w.runCheck(t, t0, firstScenario)
		for _, who := range []string{"centre", "admin"} {
			rep, err := w.s.Report(as(who), c.ID, readiness.ReportOptions{})
			if err != nil || rep.Partial || len(rep.Rows) != 10 {
				t.Fatalf("%s: %v", who, err)
			}
		}
		rep, err := w.s.Report(as("h-P09"), c.ID, readiness.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Partial || fmt.Sprint(codes(rep.Rows)) != "[P09]" || rep.Rows[0].Rank != 9 || rep.Summary.Addressed != 10 || !rep.Summary.P90.Over {
			t.Fatalf("head of P09: partial=%v rows=%v summary=%+v", rep.Partial, codes(rep.Rows), rep.Summary)
		}
		for _, who := range []string{"o-P09", "dep-P01", "auditor"} {
			if _, err := w.s.Report(as(who), c.ID, readiness.ReportOptions{}); !apperr.Is(err, apperr.KindNotFound) {
				t.Errorf("%s reading the report: %v", who, err)
			}
		}
		if _, err := w.s.Report(context.Background(), c.ID, readiness.ReportOptions{}); !apperr.Is(err, apperr.KindUnauthorized) {
			t.Errorf("nobody signed in: %v", err)
		}
		tr, err := w.s.Trend(as("h-P09"), readiness.TrendOptions{Posts: []string{"P01", "P09"}})
		if err != nil || len(tr.Posts) != 1 || tr.Posts[0].Code != "P09" {
			t.Fatalf("head's trend: %+v %v", tr, err)
		}
		if _, err := w.s.Trend(as("o-P09"), readiness.TrendOptions{}); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("officer's trend: %v", err)
		}
	})
}

func TestTrendIsMonthlyPerPostAndItsSVGIsWellFormedWithMonthLabels(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		nov, dec, jan := time.Date(2025, 11, 10, 8, 0, 0, 0, time.UTC), time.Date(2025, 12, 10, 8, 0, 0, 0, time.UTC), time.Date(2026, 1, 12, 8, 0, 0, 0, time.UTC)
		w.runCheck(t, nov, []act{{40 * time.Second, "P01", "ack"}, {80 * time.Second, "P02", "ack"}})
		w.runCheck(t, nov.Add(7*24*time.Hour), []act{{60 * time.Second, "P01", "ack"}})
		w.runCheck(t, dec, []act{{20 * time.Second, "P01", "ack"}}) // P02 silent in December
		w.runCheck(t, jan, []act{{25 * time.Second, "P01", "ack"}, {90 * time.Second, "P02", "ack"}})
		tr, err := w.s.Trend(as("centre"), readiness.TrendOptions{Posts: []string{"P01", "P02", "P03"}, Until: jan, TZ: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		if len(tr.Months) != 12 || tr.Months[0] != "2025-02" || tr.Months[11] != "2026-01" || len(tr.Posts) != 3 {
			t.Fatalf("trend shape: %v, %d posts", tr.Months, len(tr.Posts))
		}
		p1, p2 := tr.Posts[0].Points, tr.Posts[1].Points
		// November for P01: 40 s and 60 s → nearest-rank median 40 s.
		if p1[9].Month != "2025-11" || p1[9].Checks != 2 || p1[9].Median != readiness.Finite(40*time.Second) || p1[8].Median.Valid {
			t.Fatalf("P01 points: %+v", p1)
		}
		if !p2[10].Median.Over || p2[10].Missed != 1 || p2[11].Median != readiness.Finite(90*time.Second) || p2[9].Missed != 1 {
			t.Fatalf("P02 points: %+v", p2)
		}
		for _, lang := range []string{"en", "ru"} {
			svg := readiness.TrendSVG(tr, readiness.SVGOptions{Lang: lang, ID: "t-" + lang})
			texts := wellFormed(t, svg)
			for _, m := range tr.Months {
				if !slices.Contains(texts, m) {
					t.Errorf("%s: no month label %s", lang, m)
				}
			}
			if !bytes.Contains(svg, []byte(`role="img"`)) || !bytes.Contains(svg, []byte(`<title id="t-`+lang+`-title">`)) {
				t.Errorf("%s: not labelled for assistive technology", lang)
			}
		}
		svg := readiness.TrendSVG(tr, readiness.SVGOptions{})
		texts := wellFormed(t, svg)
		for _, want := range []string{"P02, 2025-12: median > deadline (1 checks, 1 missed)", "P01, 2025-11: median 40 s (2 checks, 0 missed)", "missed", "60 s"} {
			if !slices.Contains(texts, want) {
				t.Errorf("SVG lacks %q", want)
			}
		}
		empty := readiness.TrendSVG(&readiness.Trend{Zone: "UTC"}, readiness.SVGOptions{})
		wellFormed(t, empty)
	})
}

// wellFormed walks the SVG with encoding/xml and returns its text nodes.
func wellFormed(t *testing.T, svg []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var texts []string
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = x.Name.Space + " " + x.Name.Local
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(x)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if root != "http://www.w3.org/2000/svg svg" {
		t.Fatalf("root element %q", root)
	}
	return texts
}

func TestCSVExportParsesBackWithOneRowPerAddressedPost(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		if _, err := d.Exec(context.Background(), "UPDATE posts SET name_en = ?, name_ru = ? WHERE id = 'P03'", `=HYPERLINK("x"), "quoted"`, "Пост, с запятой"); err != nil {
			t.Fatal(err)
		}
		c := w.runCheck(t, t0, firstScenario)
		rep, err := w.s.Report(as("centre"), c.ID, readiness.ReportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := readiness.WriteCSV(&buf, rep); err != nil {
			t.Fatal(err)
		}
		raw := buf.Bytes()
		if !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) || !bytes.Contains(raw, []byte("\r\n")) {
			t.Fatalf("no BOM or CRLF: %q", raw[:min(len(raw), 20)])
		}
		recs, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(recs[0], readiness.CSVHeader) || len(recs) != 1+10 {
			t.Fatalf("header %v, %d records", recs[0], len(recs))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		by := map[string][]string{}
		for _, r := range recs[1:] {
			by[r[col["code"]]] = r
		}
		if len(by) != 10 {
			t.Fatalf("%d distinct posts", len(by))
		}
		check := func(code, field, want string) {
			t.Helper()
			if got := by[code][col[field]]; got != want {
				t.Errorf("%s %s = %q, want %q", code, field, got, want)
			}
		}
		check("P01", "seconds", "30")
		check("P01", "rank", "1")
		check("P01", "state", "KZ")
		check("P01", "sent_at", "2026-01-15T09:00:00Z")
		check("P01", "acked_at", "2026-01-15T09:00:30Z")
		check("P01", "missed", "false")
		check("P03", "name", `'=HYPERLINK("x"), "quoted"`)
		check("P03", "name_ru", "Пост, с запятой")
		check("P07", "after_escalation", "true")
		check("P08", "seconds", "700")
		check("P08", "late", "true")
		check("P08", "missed", "true")
		check("P09", "phone", "true")
		check("P09", "acked_at", "")
		check("P09", "missed", "true")
		check("P10", "seconds", "")
		check("P10", "missed", "true")
		check("P10", "phone", "false")
	})
}
