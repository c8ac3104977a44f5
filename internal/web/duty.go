package web

import (
	"net/http"
	"net/url"
	"sort"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/duty"
	"sitroom/internal/httpx"
)

func (w *Web) dutyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /duty", w.section("duty", w.dutyPage))
	mux.HandleFunc("GET /duty/me.json", w.section("duty", w.dutyMe))
	mux.HandleFunc("POST /duty/notes", w.section("duty", w.dutyNoteWrite))
	mux.HandleFunc("POST /duty/notes/{id}/read", w.section("duty", w.dutyNoteRead))
}

// dutyView is "My duty": the posts the officer acts for, who is on duty
// there, their shift and the next hand-over, the notes left for them, the
// open alerts of those posts, and their coming shifts.
type dutyView struct {
	NoPerson bool
	Posts    []dutyPost
	Upcoming []dutySeg
	Alerts   []dutyAlert
}

type dutyPost struct {
	ID, Code, Name, TZ string
	Time               zoneTime
	OnDuty             []dutyPerson
	Mine               *dutySeg // the officer's current stretch here
	Next               *dutySeg // their next one here (when not on duty now)
	Handover           twoTimes // when the current shift hands over
	Notes              []duty.HandoverNote
	NotesSince         twoTimes
	CanNote            bool
	Head               bool
}

type dutyPerson struct {
	Name  string
	Slot  string
	Me    bool
	Until twoTimes
}

type dutySeg struct {
	PostCode string
	Slot     string
	Start    twoTimes
	End      twoTimes
	Hours    float64
}

type dutyAlert struct {
	A        *alert.Alert
	D        alert.Delivery
	PostName string
	TZ       string
	MayAck   bool
	AckedBy  string
}

func (w *Web) dutyPage(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := actorOf(r)
	lang := w.langOf(r, w.accountOf(r))
	v := dutyView{}
	if a.PersonID == "" {
		v.NoPerson = true
	} else if err := w.fillDuty(r, lang, &v); err != nil {
		w.fail(rw, r, err)
		return
	}
	_ = ctx
	p := w.newPage(rw, r, "duty.title")
	p.Data = v
	if wantsFragment(r) == "alerts" {
		w.renderFragment(rw, r, "duty", "dutyalerts", p)
		return
	}
	w.render(rw, r, http.StatusOK, "duty", p)
}

func (w *Web) fillDuty(r *http.Request, lang string, v *dutyView) error {
	ctx := r.Context()
	a := actorOf(r)
	now := w.Clock.Now()
	segs, err := w.Duty.PersonShifts(ctx, a.PersonID, now.Add(-12*time.Hour), now.Add(7*24*time.Hour))
	if err != nil {
		return err
	}
	ix, err := w.posts(ctx, false)
	if err != nil {
		return err
	}
	// The posts: those of post-scoped grants, then those of shifts.
	var ids []string
	heads := map[string]bool{}
	seen := map[string]bool{}
	for _, g := range a.Grants {
		if g.ScopeKind == auth.ScopePost && (g.Role == auth.PostOfficer || g.Role == auth.PostHead) && !seen[g.ScopeID] {
			seen[g.ScopeID] = true
			ids = append(ids, g.ScopeID)
		}
		if g.ScopeKind == auth.ScopePost && g.Role == auth.PostHead {
			heads[g.ScopeID] = true
		}
	}
	for _, s := range segs {
		if !seen[s.PostID] && s.End.After(now) {
			seen[s.PostID] = true
			ids = append(ids, s.PostID)
		}
	}
	onDuty, err := w.Duty.OnDuty(ctx, ids, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		pp := ix.get(id)
		if pp == nil {
			continue
		}
		dp := dutyPost{ID: id, Code: pp.Code, Name: pick(lang, pp.NameEN, pp.NameRU), TZ: pp.TZ, Time: w.zoneNow(pp.TZ), Head: heads[id]}
		var handover time.Time
		for _, e := range onDuty[id] {
			me := e.PersonID == a.PersonID
			dp.OnDuty = append(dp.OnDuty, dutyPerson{Name: pick(lang, e.Name.EN, e.Name.RU), Slot: string(e.Slot), Me: me, Until: timesIn(e.End, pp.TZ)})
			if handover.IsZero() || e.End.Before(handover) {
				handover = e.End
			}
			if me {
				dp.CanNote = true
			}
		}
		dp.Handover = timesIn(handover, pp.TZ)
		for _, s := range segs {
			if s.PostID != id {
				continue
			}
			sv := segView(s, pp.Code, pp.TZ)
			if !s.Start.After(now) && s.End.After(now) && dp.Mine == nil {
				dp.Mine = &sv
			} else if s.Start.After(now) && dp.Next == nil {
				dp.Next = &sv
			}
		}
		notes, since, err := w.Duty.HandoverNotesForMe(ctx, id)
		if err != nil && !apperr.Is(err, apperr.KindNotFound) {
			return err
		}
		dp.Notes, dp.NotesSince = notes, timesIn(since, pp.TZ)
		dp.CanNote = dp.CanNote || dp.Head
		v.Posts = append(v.Posts, dp)
	}
	for _, s := range segs {
		if s.End.After(now) {
			tz := "UTC"
			code := s.PostID
			if pp := ix.get(s.PostID); pp != nil {
				tz, code = pp.TZ, pp.Code
			}
			v.Upcoming = append(v.Upcoming, segView(s, code, tz))
		}
	}
	// The open alerts of these posts.
	mine := map[string]bool{}
	for _, id := range ids {
		mine[id] = true
	}
	onDutyNow := map[string]bool{}
	for id, es := range onDuty {
		for _, e := range es {
			if e.PersonID == a.PersonID {
				onDutyNow[id] = true
			}
		}
	}
	open, _, err := w.Alerts.List(ctx, alert.ListOptions{State: alert.StateOpen, Limit: 50})
	if err != nil {
		return err
	}
	for i := range open {
		full, err := w.Alerts.Get(ctx, open[i].ID)
		if err != nil {
			continue
		}
		for _, d := range full.Deliveries {
			if !mine[d.PostID] {
				continue
			}
			da := dutyAlert{A: full, D: d}
			if pp := ix.get(d.PostID); pp != nil {
				da.PostName, da.TZ = pick(lang, pp.NameEN, pp.NameRU), pp.TZ
			}
			if d.AckedBy != nil && d.AckedBy.Login != nil {
				da.AckedBy = *d.AckedBy.Login
			}
			da.MayAck = d.AckedAt == nil && onDutyNow[d.PostID]
			for _, od := range d.OnDuty {
				da.MayAck = da.MayAck || (d.AckedAt == nil && od.PersonID == a.PersonID)
			}
			v.Alerts = append(v.Alerts, da)
		}
	}
	sort.SliceStable(v.Alerts, func(i, j int) bool {
		ai, aj := v.Alerts[i].D.AckedAt == nil, v.Alerts[j].D.AckedAt == nil
		if ai != aj {
			return ai
		}
		return v.Alerts[i].A.CreatedAt.After(v.Alerts[j].A.CreatedAt)
	})
	return nil
}

func segView(s duty.Segment, code, tz string) dutySeg {
	return dutySeg{PostCode: code, Slot: string(s.Slot), Start: timesIn(s.Start, tz), End: timesIn(s.End, tz), Hours: s.End.Sub(s.Start).Hours()}
}

// dutyMe is what alerting.js asks at a hand-over: where the user is on duty
// now, and the alerts waiting there.
func (w *Web) dutyMe(rw http.ResponseWriter, r *http.Request) {
	lang := w.langOf(r, w.accountOf(r))
	lv := w.liveFor(r, lang)
	httpx.JSON(rw, http.StatusOK, lv.Config)
}

func (w *Web) dutyNoteWrite(rw http.ResponseWriter, r *http.Request) {
	post := r.PostFormValue("post_id")
	if _, err := w.Duty.WriteHandoverNote(r.Context(), post, r.PostFormValue("body")); err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindInvalid {
			w.redirectFlash(rw, r, "/duty#notes-"+url.PathEscape(post), "note_empty")
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/duty#notes-"+url.PathEscape(post), "note_saved")
}

func (w *Web) dutyNoteRead(rw http.ResponseWriter, r *http.Request) {
	if err := w.Duty.MarkHandoverRead(r.Context(), r.PathValue("id")); err != nil {
		w.fail(rw, r, err)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/duty"
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}
