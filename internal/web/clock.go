package web

import (
	"net/http"
	"time"

	"sitroom/internal/auth"
)

// clockView is the pair of clocks in the header: the viewer's local time
// and UTC, rendered here (so they are right without JavaScript) and kept
// ticking by app.js.
type clockView struct {
	Zone      string // IANA name shown as the label, e.g. Asia/Almaty
	Offset    string // e.g. UTC+05:00
	Local     string // HH:MM
	LocalDate string // YYYY-MM-DD
	UTC       string
	UTCDate   string
	EpochMS   int64 // the server's now, so the script can correct a wrong PC clock
	OffsetMin int   // the zone's offset now, for browsers without Intl time zones
	loc       *time.Location
}

// zoneOf is the viewer's zone: their own (users.tz) if set; else, for
// someone who works for one post or member state, that post's or state's
// zone (a Kazakh duty officer sees Almaty time without setting anything);
// else the organisation's headquarters zone; else UTC.
func (w *Web) zoneOf(r *http.Request, acc *account) *time.Location {
	if acc != nil && acc.TZ != "" {
		if loc, err := time.LoadLocation(acc.TZ); err == nil {
			return loc
		}
	}
	if z := w.workZone(r, acc); z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	if z := w.orgZone(r); z != "" {
		if loc, err := time.LoadLocation(z); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (w *Web) clockView(r *http.Request, acc *account) clockView {
	loc := w.zoneOf(r, acc)
	now := w.Clock.Now()
	l := now.In(loc)
	_, off := l.Zone()
	return clockView{
		Zone: loc.String(), Offset: offsetLabel(off),
		Local: l.Format("15:04"), LocalDate: l.Format("2006-01-02"),
		UTC: now.UTC().Format("15:04"), UTCDate: now.UTC().Format("2006-01-02"),
		EpochMS: now.UnixMilli(), OffsetMin: off / 60, loc: loc,
	}
}

// offsetLabel writes an offset in seconds as UTC+05:00.
func offsetLabel(sec int) string {
	sign := "+"
	if sec < 0 {
		sign, sec = "-", -sec
	}
	return "UTC" + sign + time.Date(0, 1, 1, 0, 0, sec, 0, time.UTC).Format("15:04")
}

// zoneTime is the time now in a zone (a post's or a member state's).
type zoneTime struct {
	Zone   string
	Time   string // 15:04
	Date   string // 2006-01-02
	Offset string // UTC+05:00
	OffMin int
}

// zoneNow tells the current time in zone.
func (w *Web) zoneNow(zone string) zoneTime {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return zoneTime{Zone: zone}
	}
	l := w.Clock.Now().In(loc)
	_, off := l.Zone()
	return zoneTime{Zone: zone, Time: l.Format("15:04"), Date: l.Format("2006-01-02"), Offset: offsetLabel(off), OffMin: off / 60}
}

// workZone is the zone of the post (or, failing that, the member state) the
// viewer's scoped roles are for; "" for global roles or several zones.
func (w *Web) workZone(r *http.Request, acc *account) string {
	if acc == nil {
		return ""
	}
	ctx := auth.With(r.Context(), auth.System("web"))
	zone := ""
	for _, g := range acc.Grants {
		var z string
		switch g.ScopeKind {
		case auth.ScopePost:
			if p, err := w.Directory.GetPost(ctx, g.ScopeID); err == nil {
				z = p.TZ
			}
		case auth.ScopeState:
			if st, err := w.Directory.GetMemberState(ctx, g.ScopeID); err == nil {
				z = st.TZ
			}
		default:
			return ""
		}
		if z == "" || (zone != "" && z != zone) {
			return ""
		}
		zone = z
	}
	return zone
}
