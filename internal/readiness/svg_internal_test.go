package readiness

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// panelTitle is what a panel of the chart shows and says about its post.
type panelTitle struct {
	title   string  // the panel's <title>: tooltip and screen-reader name
	visible string  // the bold text drawn at the top of the panel
	x       float64 // where the visible text starts, in the panel
}

// panelTitles reads every panel (<g role="group">) of a chart.
func panelTitles(t *testing.T, svg []byte) []panelTitle {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var out []panelTitle
	depth, panel := 0, -1 // depth of the open panel, -1 outside one
	field := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			depth++
			attr := func(name string) string {
				for _, a := range e.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case e.Name.Local == "g" && attr("role") == "group":
				panel = depth
				out = append(out, panelTitle{})
			case panel >= 0 && depth == panel+1 && e.Name.Local == "title":
				field = "title"
			case panel >= 0 && depth == panel+1 && e.Name.Local == "text" && attr("font-weight") == "bold":
				field = "visible"
				x, err := strconv.ParseFloat(attr("x"), 64)
				if err != nil {
					t.Fatalf("panel title x %q: %v", attr("x"), err)
				}
				out[len(out)-1].x = x
			}
		case xml.CharData:
			switch field {
			case "title":
				out[len(out)-1].title += string(e)
			case "visible":
				out[len(out)-1].visible += string(e)
			}
		case xml.EndElement:
			if depth == panel {
				panel = -1
			}
			field = ""
			depth--
		}
	}
}

func TestTrendSVGPanelTitlesFitTheirPanelAndKeepTheFullName(t *testing.T) {
	months := []string{"2025-12", "2026-01", "2026-02"}
	points := []MonthPoint{
		{Month: "2025-12"},
		{Month: "2026-01", Checks: 1, Median: Finite(41 * time.Second)},
		{Month: "2026-02", Checks: 1, Missed: 1, Median: Stat{Valid: true, Over: true}},
	}
	posts := []PostTrend{
		{Code: "BY-MES-CP", NameEN: "Crisis management centre of the Ministry of Emergency Situations of the Republic of Belarus",
			NameRU: "Центр управления в кризисных ситуациях Министерства по чрезвычайным ситуациям Республики Беларусь"},
		{Code: "RU-MID-CP", NameEN: "Duty service of the Ministry of Foreign Affairs of the Russian Federation",
			NameRU: "Дежурная служба Министерства иностранных дел Российской Федерации"},
		// The widest letters, so that the cut is tested where it is tightest.
		{Code: "WWW-MMM", NameEN: strings.Repeat("WMmw", 30), NameRU: strings.Repeat("ЖШЩЮ", 30)},
		{Code: "KZ-MVD-CP", NameEN: "Duty unit", NameRU: "Дежурная часть"}, // fits: left whole
		{Code: "NO-NAME"},
	}
	for i := range posts {
		posts[i].Points = points
	}
	tr := &Trend{Zone: "UTC", Months: months, Posts: posts}

	for _, lang := range []string{"en", "ru"} {
		for _, cols := range []int{1, 2, 3} {
			got := panelTitles(t, TrendSVG(tr, SVGOptions{Lang: lang, Columns: cols}))
			if len(got) != len(posts) {
				t.Fatalf("%s, %d columns: %d panels, want %d", lang, cols, len(got), len(posts))
			}
			for k, pt := range posts {
				name := pt.NameEN
				if lang == "ru" {
					name = pt.NameRU
				}
				full := pt.Code
				if name != "" {
					full += " — " + name
				}
				g := got[k]
				if g.title != full {
					t.Errorf("%s, %d columns, %s: panel <title> %q, want the full %q", lang, cols, pt.Code, g.title, full)
				}
				if w, room := textWidth(g.visible, panelTitleSize), panelW-g.x; w > room {
					t.Errorf("%s, %d columns, %s: visible title %q is %.0f px wide, the panel leaves %.0f px", lang, cols, pt.Code, g.visible, w, room)
				}
				// What is drawn is the start of the name, cut only when it has to be.
				short := strings.TrimSuffix(g.visible, "…")
				switch {
				case !strings.HasPrefix(full, short) || !strings.HasPrefix(short, pt.Code):
					t.Errorf("%s, %d columns, %s: visible title %q is not the start of %q", lang, cols, pt.Code, g.visible, full)
				case textWidth(full, panelTitleSize) <= panelTitleRoom && g.visible != full:
					t.Errorf("%s, %d columns, %s: %q fits but was cut to %q", lang, cols, pt.Code, full, g.visible)
				case textWidth(full, panelTitleSize) > panelTitleRoom && short == g.visible:
					t.Errorf("%s, %d columns, %s: %q cut to %q without an ellipsis", lang, cols, pt.Code, full, g.visible)
				case textWidth(full, panelTitleSize) > panelTitleRoom && textWidth(g.visible, panelTitleSize) < panelTitleRoom-4*panelTitleSize:
					// At most the next glyph and a trimmed " — " are left out.
					t.Errorf("%s, %d columns, %s: %q cut shorter than need be, to %q", lang, cols, pt.Code, full, g.visible)
				}
			}
		}
	}
}

// TestGlyphEstimateIsAtLeastTheWidestCommonFace holds the estimate to
// measured advance widths (ems) of DejaVu Sans Bold, the widest of the
// usual sans-serif faces, for its widest glyphs and some ordinary ones.
func TestGlyphEstimateIsAtLeastTheWidestCommonFace(t *testing.T) {
	for _, c := range []struct {
		r rune
		w float64
	}{
		{'Щ', 1.33}, {'Ш', 1.24}, {'Ж', 1.22}, {'Ю', 1.17}, {'щ', 1.11}, {'W', 1.10}, {'ш', 1.06},
		{'m', 1.04}, {'Ы', 1.04}, {'M', 1.00}, {'—', 1.00}, {'…', 1.00}, {'ж', 1.00}, {'ф', 0.99},
		{'ю', 0.97}, {'Ъ', 0.94}, {'w', 0.92}, {'Д', 0.89}, {'O', 0.85}, {'д', 0.81}, {'ъ', 0.75},
		{'b', 0.72}, {'0', 0.70}, {'а', 0.67}, {'r', 0.49}, {' ', 0.35}, {'l', 0.34},
	} {
		if got := glyphEm(c.r); got < c.w {
			t.Errorf("glyphEm(%q) = %.2f, narrower than DejaVu Sans Bold's %.2f", c.r, got, c.w)
		}
	}
}
