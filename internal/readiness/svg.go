package readiness

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"strings"
)

// SVGOptions tune TrendSVG.
type SVGOptions struct {
	// Lang is "en" (default) or "ru": the chart's few words.
	Lang string
	// ID prefixes the ids of the title and description elements, so that
	// several charts can sit on one page (default "readiness-trend").
	ID string
	// Columns of small multiples (default 2; 1 when there is one post).
	Columns int
}

// svgText are the chart's words. The chart is rendered here, not in a
// template, so it carries its own two languages.
var svgText = map[string]map[string]string{
	"en": {
		"title":    "Median time to acknowledge per post, by month",
		"desc":     "%d posts, %s to %s (months in zone %s). Values in seconds. A cross marks a missed month: the post missed more than half of that month's checks. A gap is a month without a check.",
		"missed":   "missed",
		"sec":      "s",
		"over":     "> deadline",
		"none":     "No readiness check in this period.",
		"point":    "%s, %s: median %s (%d checks, %d missed)",
		"l-point":  "median time to acknowledge in the month, seconds",
		"l-hollow": "a month with a miss that did not sink the median",
		"l-cross":  "missed month: more than half of the month's checks missed",
		"l-gap":    "no line: no check that month",
	},
	"ru": {
		"title":    "Медианное время подтверждения по постам, по месяцам",
		"desc":     "Постов: %d, с %s по %s (месяцы по поясу %s). Значения в секундах. Крестик — месяц с пропуском: пост пропустил больше половины проверок месяца. Разрыв — месяц без проверки.",
		"missed":   "пропуск",
		"sec":      "с",
		"over":     "> срока",
		"none":     "За этот период проверок готовности не было.",
		"point":    "%s, %s: медиана %s (проверок: %d, пропущено: %d)",
		"l-point":  "медианное время подтверждения за месяц, секунды",
		"l-hollow": "месяц с пропуском, не изменившим медиану",
		"l-cross":  "месяц с пропуском: пропущено больше половины проверок",
		"l-gap":    "разрыв линии: в этом месяце проверки не было",
	},
}

// Geometry of one small multiple.
const (
	panelW   = 400
	panelH   = 200
	padLeft  = 58
	padRight = 14
	padTop   = 54  // panel title, then the "missed" row
	padBot   = 56  // rotated month labels
	headerH  = 100 // chart title and legend

	panelTitleX    = padLeft - 40 // x of a panel's visible title
	panelTitleSize = 11           // its font size, bold (the chart's font-size)
	panelTitleRoom = panelW - panelTitleX - 8
)

// glyphEm is a generous width, in ems, of a bold sans-serif glyph. The
// viewer's font is unknown (font-family="sans-serif"), so each class is at
// least as wide as its widest glyph in DejaVu Sans Bold, the widest of the
// usual faces (Arial, Helvetica, Liberation and Noto Sans are narrower): a
// title cut by this estimate fits whatever face draws it, at the price of a
// few characters in a narrow one. Runes not listed count as very wide.
func glyphEm(r rune) float64 {
	switch {
	case strings.ContainsRune(" .,:;'|!ijlIJfrt()[]-_", r):
		return 0.5
	case strings.ContainsRune("ЖШЩЮ", r):
		return 1.35
	case strings.ContainsRune("mwMWжшщъыюфдмцЫФМДЦЪ@%—…", r):
		return 1.15
	case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'а' && r <= 'я', r == 'ё':
		return 0.75
	case r >= 'A' && r <= 'Z', r >= 'А' && r <= 'Я', r == 'Ё':
		return 0.9
	default:
		return 1.35
	}
}

// textWidth estimates the drawn width of s in pixels at size px, bold.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		w += glyphEm(r)
	}
	return w * size
}

// fitText shortens s with an ellipsis so that its estimated width at size
// px is at most room; s itself when it fits. The cut falls before trailing
// spaces and dashes so the text does not end in "— …".
func fitText(s string, size, room float64) string {
	if textWidth(s, size) <= room {
		return s
	}
	const ell = "…"
	budget := room - textWidth(ell, size)
	w, cut := 0.0, 0
	for i, r := range s {
		w += glyphEm(r) * size
		if w > budget {
			break
		}
		cut = i + len(string(r))
	}
	return strings.TrimRight(s[:cut], " -—–,") + ell
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// niceStep picks a tick step (seconds) giving at most 4 intervals up to max.
func niceStep(maxSec float64) float64 {
	for _, s := range []float64{10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400} {
		if maxSec/s <= 4 {
			return s
		}
	}
	return math.Ceil(maxSec/4/86400) * 86400
}

// TrendSVG renders a trend as an SVG chart: one small multiple per post
// (a line per post on one chart is unreadable past a handful of posts),
// all on the same scale, months along the x axis with their labels, the
// median time to acknowledge in seconds up the y axis, a cross in the top
// row for a missed month, a gap for a month without a check. It is
// accessible: role="img" with <title> and <desc>, every panel and point has
// its own <title>, and every label is text (no meaning by colour alone).
func TrendSVG(t *Trend, o SVGOptions) []byte {
	tx := svgText["en"]
	if m, ok := svgText[o.Lang]; ok {
		tx = m
	}
	id := o.ID
	if id == "" {
		id = "readiness-trend"
	}
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, id)
	cols := o.Columns
	if cols <= 0 {
		cols = 2
	}
	n := len(t.Posts)
	cols = max(min(cols, n), 1)
	rows := (n + cols - 1) / cols
	width := max(cols*panelW, 600) // room for the title and legend
	height := headerH + max(rows, 1)*panelH
	if n == 0 {
		height = 64
	}
	first, last := "", ""
	if len(t.Months) > 0 {
		first, last = t.Months[0], t.Months[len(t.Months)-1]
	}

	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-title %s-desc" font-family="sans-serif" font-size="11">`,
		width, height, width, height, id, id)
	p(`<title id="%s-title">%s</title>`, id, esc(tx["title"]))
	p(`<desc id="%s-desc">%s</desc>`, id, esc(fmt.Sprintf(tx["desc"], n, first, last, t.Zone)))
	p(`<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>`, width, height)
	p(`<text x="8" y="20" font-size="14" font-weight="bold" fill="#111111">%s</text>`, esc(tx["title"]))
	if n == 0 {
		p(`<text x="8" y="%d" fill="#333333">%s</text>`, 48, esc(tx["none"]))
		p(`</svg>`)
		return []byte(b.String())
	}
	// Legend: the marks as drawn, each with its words.
	p(`<g aria-hidden="true"><circle cx="14" cy="36" r="4" fill="#1f5fa8" stroke="#1f5fa8" stroke-width="2"/>`)
	p(`<circle cx="14" cy="52" r="4" fill="#ffffff" stroke="#1f5fa8" stroke-width="2"/>`)
	p(`<path d="M10 64 l8 8 m0 -8 l-8 8" stroke="#a61b1b" stroke-width="2.5" fill="none"/></g>`)
	for i, k := range []string{"l-point", "l-hollow", "l-cross", "l-gap"} {
		p(`<text x="26" y="%d" fill="#333333">%s</text>`, 40+16*i, esc(tx[k]))
	}

	// One scale for every panel, so posts compare at a glance.
	maxSec := 60.0
	for _, pt := range t.Posts {
		for _, m := range pt.Points {
			if m.Median.Valid && !m.Median.Over {
				maxSec = math.Max(maxSec, m.Median.D.Seconds())
			}
		}
	}
	step := niceStep(maxSec)
	top := math.Ceil(maxSec/step) * step
	plotW := float64(panelW - padLeft - padRight)
	plotH := float64(panelH - padTop - padBot)
	nm := max(len(t.Months), 1)
	xOf := func(i int) float64 { return float64(padLeft) + (float64(i)+0.5)*plotW/float64(nm) }
	yOf := func(sec float64) float64 { return float64(padTop) + plotH - sec/top*plotH }
	missY := float64(padTop) - 18
	label := func(pt PostTrend) string {
		name := pt.NameEN
		if o.Lang == "ru" && pt.NameRU != "" {
			name = pt.NameRU
		}
		if name == "" || name == pt.Code {
			return pt.Code
		}
		return pt.Code + " — " + name
	}
	value := func(s Stat) string {
		if s.Over {
			return tx["over"]
		}
		sec, _ := s.Seconds()
		return fmt.Sprintf("%d %s", sec, tx["sec"])
	}

	for k, pt := range t.Posts {
		ox, oy := (k%cols)*panelW, headerH+(k/cols)*panelH
		name := label(pt)
		p(`<g transform="translate(%d,%d)" role="group" aria-label="%s">`, ox, oy, esc(name))
		// The full name is in the panel's title (a tooltip, and what screen
		// readers say); the visible text is cut to the panel so that, with
		// several columns, a long name does not run into the next one.
		p(`<title>%s</title>`, esc(name))
		p(`<text x="%d" y="14" font-weight="bold" fill="#111111" aria-hidden="true">%s</text>`,
			panelTitleX, esc(fitText(name, panelTitleSize, panelTitleRoom)))
		// Axes, ticks and grid.
		for v := 0.0; v <= top+0.5; v += step {
			y := yOf(v)
			p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd" stroke-width="1"/>`, padLeft, y, panelW-padRight, y)
			p(`<text x="%d" y="%.1f" text-anchor="end" fill="#333333">%s</text>`, padLeft-4, y+4, esc(fmt.Sprintf("%.0f %s", v, tx["sec"])))
		}
		p(`<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="#333333" stroke-width="1"/>`, padLeft, padTop, padLeft, float64(padTop)+plotH)
		p(`<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333333" stroke-width="1"/>`, padLeft, float64(padTop)+plotH, panelW-padRight, float64(padTop)+plotH)
		p(`<text x="%d" y="%.1f" text-anchor="end" fill="#a61b1b" font-size="9">%s</text>`, padLeft-4, missY+3, esc(tx["missed"]))
		for i, m := range t.Months {
			x := xOf(i)
			y := float64(padTop) + plotH + 10
			p(`<text x="%.1f" y="%.1f" text-anchor="end" font-size="9" fill="#333333" transform="rotate(-45 %.1f %.1f)">%s</text>`, x, y, x, y, esc(m))
		}
		// The line: segments through consecutive months with a finite median.
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				p(`<polyline fill="none" stroke="#1f5fa8" stroke-width="2" points="%s"/>`, strings.Join(seg, " "))
			}
			seg = seg[:0]
		}
		for i, m := range pt.Points {
			if m.Median.Valid && !m.Median.Over {
				seg = append(seg, fmt.Sprintf("%.1f,%.1f", xOf(i), yOf(m.Median.D.Seconds())))
			} else {
				flush()
			}
		}
		flush()
		// Points, each with its own title (a tooltip and a screen-reader label).
		for i, m := range pt.Points {
			x := xOf(i)
			switch {
			case !m.Median.Valid:
				continue
			case m.Median.Over:
				tt := fmt.Sprintf(tx["point"], pt.Code, m.Month, value(m.Median), m.Checks, m.Missed)
				p(`<g><title>%s</title><path d="M%.1f %.1f l8 8 m0 -8 l-8 8" stroke="#a61b1b" stroke-width="2.5" fill="none"/></g>`,
					esc(tt), x-4, missY-4)
			default:
				tt := fmt.Sprintf(tx["point"], pt.Code, m.Month, value(m.Median), m.Checks, m.Missed)
				fill := "#1f5fa8"
				if m.Missed > 0 { // a month with a miss that did not sink the median: hollow point
					fill = "#ffffff"
				}
				p(`<circle cx="%.1f" cy="%.1f" r="4" fill="%s" stroke="#1f5fa8" stroke-width="2"><title>%s</title></circle>`,
					x, yOf(m.Median.D.Seconds()), fill, esc(tt))
			}
		}
		p(`</g>`)
	}
	p(`</svg>`)
	return []byte(b.String())
}
