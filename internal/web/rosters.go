package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
)

func (w *Web) rosterRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /rosters", w.section("rosters", w.rosterIndex))
	mux.HandleFunc("GET /rosters/gaps", w.section("rosters", w.rosterGaps))
	mux.HandleFunc("POST /rosters/feeds", w.section("rosters", w.feedCreate))
	mux.HandleFunc("POST /rosters/feeds/revoke/{id}", w.section("rosters", w.feedRevoke))
	mux.HandleFunc("GET /rosters/{post}", w.section("rosters", w.rosterWeek))
	mux.HandleFunc("POST /rosters/{post}/shifts", w.section("rosters", w.rosterShift))
	mux.HandleFunc("POST /rosters/{post}/shifts/{id}/delete", w.section("rosters", w.rosterShiftDelete))
	mux.HandleFunc("POST /rosters/{post}/cover", w.section("rosters", w.rosterCover))
	mux.HandleFunc("POST /rosters/{post}/swap", w.section("rosters", w.rosterSwap))
	mux.HandleFunc("GET /rosters/{post}/rotations/new", w.section("rosters", w.rotationNew))
	mux.HandleFunc("POST /rosters/{post}/rotations", w.section("rosters", w.rotationCreate))
	mux.HandleFunc("GET /rosters/{post}/rotations/{id}", w.section("rosters", w.rotationEdit))
	mux.HandleFunc("POST /rosters/{post}/rotations/{id}", w.section("rosters", w.rotationUpdate))
	mux.HandleFunc("POST /rosters/{post}/rotations/{id}/archive", w.section("rosters", w.rotationArchive))
	mux.HandleFunc("GET /rosters/{post}/escalation", w.section("rosters", w.escalationEdit))
	mux.HandleFunc("POST /rosters/{post}/escalation", w.section("rosters", w.escalationSave))
}

// ---- index -------------------------------------------------------------------

type rosterIndexView struct {
	Groups   []rosterGroup
	Feeds    []duty.FeedToken
	NewFeed  string // the URL of a feed just created, shown this once
	PersonID string
}

type rosterGroup struct {
	State string
	Name  string
	Posts []rosterPostRow
}

type rosterPostRow struct {
	Code, Name, TZ string
	Time           zoneTime
	OnDuty         []dutyName
}

func (w *Web) rosterIndex(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := actorOf(r)
	b, err := w.Duty.Board(ctx, w.Clock.Now())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "rosters.title")
	names, _, err := w.stateNames(ctx, p.Lang)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	v := rosterIndexView{PersonID: a.PersonID}
	items := append([]duty.BoardItem(nil), b.Items...)
	sort.SliceStable(items, func(i, j int) bool {
		x, y := items[i].Post, items[j].Post
		if (x.State == "") != (y.State == "") {
			return x.State == ""
		}
		if x.State != y.State {
			return x.State < y.State
		}
		return x.Code < y.Code
	})
	for _, it := range items {
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].State != it.Post.State {
			n := names[it.Post.State]
			if it.Post.State == "" {
				n = w.tr(p.Lang).T("dir.organisation")
			}
			v.Groups = append(v.Groups, rosterGroup{State: it.Post.State, Name: n})
		}
		row := rosterPostRow{Code: it.Post.Code, Name: pick(p.Lang, it.Post.NameEN, it.Post.NameRU), TZ: it.Post.TZ, Time: w.zoneNow(it.Post.TZ)}
		for _, od := range it.OnDuty {
			row.OnDuty = append(row.OnDuty, dutyName{Name: pick(p.Lang, od.Name.EN, od.Name.RU), Slot: string(od.Slot)})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Posts = append(g.Posts, row)
	}
	if a.PersonID != "" {
		if v.Feeds, err = w.Duty.FeedTokens(ctx, a.PersonID); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	if c, err := r.Cookie(feedCookie); err == nil && c.Value != "" {
		v.NewFeed = w.feedURL(r, c.Value)
		http.SetCookie(rw, &http.Cookie{Name: feedCookie, Value: "", Path: "/rosters", HttpOnly: true, Secure: w.Secure,
			SameSite: http.SameSiteStrictMode, MaxAge: -1})
	}
	p.Data = v
	w.render(rw, r, http.StatusOK, "rosters", p)
}

// feedCookie carries a new feed token across the redirect after it is
// created, so it is shown once and never appears in a URL or a log.
const feedCookie = "sitroom_newfeed"

// feedURL is the address calendar clients subscribe to (served by the API
// package at /feeds/shifts/<token>.ics).
func (w *Web) feedURL(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil || w.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/feeds/shifts/" + url.PathEscape(token) + ".ics"
}

func (w *Web) feedCreate(rw http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	ft, err := w.Duty.CreateFeedToken(r.Context(), a.PersonID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: feedCookie, Value: ft.Token, Path: "/rosters", HttpOnly: true, Secure: w.Secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 120})
	w.redirectFlash(rw, r, "/rosters#feeds", "feed_created")
}

func (w *Web) feedRevoke(rw http.ResponseWriter, r *http.Request) {
	if err := w.Duty.RevokeFeedToken(r.Context(), r.PathValue("id")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/rosters#feeds", "feed_revoked")
}

// ---- gaps ----------------------------------------------------------------------

type gapsView struct {
	Days int
	Rows []gapRow
}

type gapRow struct {
	Code, Name string
	From, To   twoTimes
	Hours      float64
}

func (w *Web) rosterGaps(rw http.ResponseWriter, r *http.Request) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if days < 1 || days > duty.MaxGapDays {
		days = 7
	}
	gs, err := w.Duty.Gaps(r.Context(), "", w.Clock.Now(), days)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "rosters.gaps")
	v := gapsView{Days: days}
	for _, g := range gs {
		for _, iv := range g.Gaps {
			v.Rows = append(v.Rows, gapRow{Code: g.Code, Name: pick(p.Lang, g.NameEN, g.NameRU), From: timesIn(iv.Start, g.TZ), To: timesIn(iv.End, g.TZ),
				Hours: iv.End.Sub(iv.Start).Hours()})
		}
	}
	p.Data = v
	w.render(rw, r, http.StatusOK, "gaps", p)
}

// ---- a post's week -------------------------------------------------------------

type weekView struct {
	Post       *directory.Post
	Name       string
	Time       zoneTime
	Week       string // YYYY-MM-DD of the Monday, local
	Prev, Next string
	Days       []weekDay
	Rows       []shiftRow
	Editable   bool
	People     []option
	Covers     []option // shifts that may be covered (not over)
	Swaps      []option // shifts that may be swapped (not started)
	Rotations  []duty.Rotation
	Escalation duty.EscalationPath
	FormKind   string // which form a refused submission came from
	Slots      []option
	Names      map[string]string // people by id (the escalation path names them)
}

type weekDay struct {
	Date  string // 2006-01-02
	Label time.Time
	Today bool
	Segs  []weekSeg
	// Lanes: the primary slot, the deputy slot, and the gaps (nobody in
	// either slot), each in time order.
	Primary, Deputy, Gaps []weekSeg
}

type weekSeg struct {
	From, To     string // HH:MM local, clipped to the day
	FromUTC      string
	ToUTC        string
	ContPrev     bool // began the day before
	ContNext     bool // goes on into the next day
	Person       string
	Slot, Source string
	Kind         string
	Now          bool
	Gap          bool // nobody on duty in either slot
}

type shiftRow struct {
	duty.Shift
	Person    string
	Start     twoTimes
	End       twoTimes
	Deletable bool
}

// rosterPost loads the post of the URL (by code or id).
func (w *Web) rosterPost(r *http.Request) (*directory.Post, error) {
	return w.Directory.GetPost(r.Context(), r.PathValue("post"))
}

// weekStart is the Monday 00:00 (in loc) of the week holding t.
func weekStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	d := (int(l.Weekday()) + 6) % 7
	return time.Date(l.Year(), l.Month(), l.Day()-d, 0, 0, 0, 0, loc)
}

func (w *Web) rosterWeek(rw http.ResponseWriter, r *http.Request) {
	w.renderWeek(rw, r, nil, "", http.StatusOK)
}

func (w *Web) renderWeek(rw http.ResponseWriter, r *http.Request, f *form, kind string, status int) {
	ctx := r.Context()
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	loc, err := time.LoadLocation(post.TZ)
	if err != nil {
		loc = time.UTC
	}
	now := w.Clock.Now()
	start := weekStart(now, loc)
	week := r.URL.Query().Get("week")
	if f != nil && f.Get("week") != "" {
		week = f.Get("week")
	}
	if week != "" {
		if d, err := time.ParseInLocation("2006-01-02", week, loc); err == nil {
			start = weekStart(d, loc)
		}
	}
	end := start.AddDate(0, 0, 7)
	ro, err := w.Duty.Roster(ctx, post.ID, start, end)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "rosters.post", post.Code)
	lang := p.Lang
	v := weekView{Post: post, Name: pick(lang, post.NameEN, post.NameRU), Time: w.zoneNow(post.TZ), Week: start.Format("2006-01-02"),
		Prev: start.AddDate(0, 0, -7).Format("2006-01-02"), Next: start.AddDate(0, 0, 7).Format("2006-01-02"),
		Editable: ro.Editable, FormKind: kind}
	tr := w.tr(lang)
	v.Slots = []option{{Value: "primary", Label: tr.T("slot.primary")}, {Value: "deputy", Label: tr.T("slot.deputy")}}
	today := now.In(loc).Format("2006-01-02")
	for i := 0; i < 7; i++ {
		ds := start.AddDate(0, 0, i)
		de := start.AddDate(0, 0, i+1)
		day := weekDay{Date: ds.Format("2006-01-02"), Label: ds, Today: ds.Format("2006-01-02") == today}
		for _, s := range ro.Effective {
			if !s.End.After(ds) || !s.Start.Before(de) {
				continue
			}
			from, to := s.Start, s.End
			ws := weekSeg{Person: pick(lang, s.PersonName.EN, s.PersonName.RU), Slot: string(s.Slot), Source: string(s.Source), Kind: string(s.Kind),
				Now: !s.Start.After(now) && s.End.After(now)}
			if from.Before(ds) {
				from, ws.ContPrev = ds, true
			}
			if to.After(de) {
				to, ws.ContNext = de, true
			}
			ws.From, ws.To = from.In(loc).Format("15:04"), to.In(loc).Format("15:04")
			if ws.ContNext {
				ws.To = "24:00"
			}
			ws.FromUTC, ws.ToUTC = from.UTC().Format("15:04"), to.UTC().Format("15:04")
			day.Segs = append(day.Segs, ws)
		}
		sort.SliceStable(day.Segs, func(a, b int) bool { return day.Segs[a].From < day.Segs[b].From })
		for _, sg := range day.Segs {
			if sg.Slot == string(duty.Primary) {
				day.Primary = append(day.Primary, sg)
			} else {
				day.Deputy = append(day.Deputy, sg)
			}
		}
		day.Gaps = dayGaps(ro.Effective, ds, de, loc)
		v.Days = append(v.Days, day)
	}
	for _, s := range ro.Shifts {
		row := shiftRow{Shift: s, Person: pick(lang, s.PersonName.EN, s.PersonName.RU), Start: timesIn(s.Start, post.TZ), End: timesIn(s.End, post.TZ)}
		row.Deletable = ro.Editable && s.Source != duty.FromRotation && s.Start.After(now)
		v.Rows = append(v.Rows, row)
		label := fmt.Sprintf("%s – %s · %s (%s)", row.Start.Local, row.End.Local, row.Person, tr.T("slot."+string(s.Slot)))
		if s.End.After(now) {
			v.Covers = append(v.Covers, option{Value: s.ID, Label: label})
		}
		if s.Start.After(now) {
			v.Swaps = append(v.Swaps, option{Value: s.ID, Label: label})
		}
	}
	people, err := w.rosterPeople(ctx, lang, post)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	v.Names = map[string]string{}
	for _, o := range people {
		v.Names[o.Value] = o.Label
	}
	if ro.Editable {
		v.People = people
	}
	if v.Rotations, err = w.Duty.Rotations(ctx, post.ID); err != nil {
		w.fail(rw, r, err)
		return
	}
	if v.Escalation, err = w.Duty.EscalationPath(ctx, post.ID); err != nil {
		w.fail(rw, r, err)
		return
	}
	if f == nil {
		f = newForm()
		def := now.In(loc).Add(time.Hour).Truncate(time.Hour)
		if start.After(now) {
			def = start.Add(8 * time.Hour)
		}
		f.Values["start"] = def.Format("2006-01-02T15:04")
		f.Values["end"] = def.Add(12 * time.Hour).Format("2006-01-02T15:04")
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "roster", p)
}

// dayGaps are the stretches of [ds, de) in which nobody holds either slot.
func dayGaps(segs []duty.Segment, ds, de time.Time, loc *time.Location) []weekSeg {
	type iv struct{ a, b time.Time }
	var cover []iv
	for _, s := range segs {
		if s.End.After(ds) && s.Start.Before(de) {
			cover = append(cover, iv{s.Start, s.End})
		}
	}
	sort.Slice(cover, func(i, j int) bool { return cover[i].a.Before(cover[j].a) })
	var out []weekSeg
	at := ds
	add := func(a, b time.Time) {
		g := weekSeg{Gap: true, From: a.In(loc).Format("15:04"), To: b.In(loc).Format("15:04"),
			FromUTC: a.UTC().Format("15:04"), ToUTC: b.UTC().Format("15:04")}
		if !b.Before(de) {
			g.To = "24:00"
		}
		out = append(out, g)
	}
	for _, c := range cover {
		if c.a.After(at) {
			add(at, c.a)
		}
		if c.b.After(at) {
			at = c.b
		}
	}
	if at.Before(de) {
		add(at, de)
	}
	return out
}

// rosterPeople are the people who may serve on post's roster: its member
// state's and the organisation's own, active.
func (w *Web) rosterPeople(ctx context.Context, lang string, post *directory.Post) ([]option, error) {
	var out []option
	cursor := ""
	for {
		ps, next, err := w.Directory.ListPeople(ctx, directory.ListOptions{Limit: directory.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, pe := range ps {
			if pe.State == "" || pe.State == post.State {
				out = append(out, option{Value: pe.ID, Label: pick(lang, pe.NameEN, pe.NameRU) + " (" + pe.Code + ")"})
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out, nil
}

// localTime reads a datetime-local field in the post's zone.
func localTime(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (w *Web) postLoc(r *http.Request) (*directory.Post, *time.Location, error) {
	post, err := w.rosterPost(r)
	if err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(post.TZ)
	if err != nil {
		loc = time.UTC
	}
	return post, loc, nil
}

func weekURL(post *directory.Post, f *form) string {
	u := "/rosters/" + url.PathEscape(post.Code)
	if wk := f.Get("week"); wk != "" {
		u += "?week=" + url.QueryEscape(wk)
	}
	return u
}

func (w *Web) rosterShift(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, loc, err := w.postLoc(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	start, ok1 := localTime(f.Get("start"), loc)
	end, ok2 := localTime(f.Get("end"), loc)
	if !ok1 || !ok2 {
		if !ok1 {
			f.addField("start", "invalid_time", "")
		}
		if !ok2 {
			f.addField("end", "invalid_time", "")
		}
		w.renderWeek(rw, r, f, "shift", http.StatusUnprocessableEntity)
		return
	}
	_, err = w.Duty.CreateShift(r.Context(), duty.ShiftInput{PostID: post.ID, PersonID: f.Get("person_id"), Slot: duty.Slot(f.Get("slot")),
		Start: start, End: end, Note: f.Get("note")})
	if err != nil {
		if f.take(err, "person_id", "slot", "start", "end", "note") {
			w.renderWeek(rw, r, f, "shift", http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, weekURL(post, f), "shift_created")
}

func (w *Web) rosterShiftDelete(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if err := w.Duty.DeleteShift(r.Context(), r.PathValue("id")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, weekURL(post, f), "shift_deleted")
}

func (w *Web) rosterCover(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, loc, err := w.postLoc(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	start, ok1 := localTime(f.Get("cover_start"), loc)
	end, ok2 := localTime(f.Get("cover_end"), loc)
	if !ok1 || !ok2 {
		if !ok1 {
			f.addField("cover_start", "invalid_time", "")
		}
		if !ok2 {
			f.addField("cover_end", "invalid_time", "")
		}
		w.renderWeek(rw, r, f, "cover", http.StatusUnprocessableEntity)
		return
	}
	_, err = w.Duty.Cover(r.Context(), duty.CoverInput{ShiftID: f.Get("cover_shift"), PersonID: f.Get("cover_person"), Start: start, End: end, Note: f.Get("cover_note")})
	if err != nil {
		for from, to := range map[string]string{"person_id": "cover_person", "start": "cover_start", "end": "cover_end", "note": "cover_note", "shift_id": "cover_shift"} {
			err = mapField(err, from, to)
		}
		if f.take(err, "cover_shift", "cover_person", "cover_start", "cover_end", "cover_note") {
			w.renderWeek(rw, r, f, "cover", http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, weekURL(post, f), "cover_created")
}

func (w *Web) rosterSwap(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if _, err := w.Duty.Swap(r.Context(), f.Get("shift_a"), f.Get("shift_b"), f.Get("swap_note")); err != nil {
		if f.take(err, "shift_a", "shift_b") {
			w.renderWeek(rw, r, f, "swap", http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, weekURL(post, f), "swap_created")
}

// ---- rotations -------------------------------------------------------------------

type rotationView struct {
	Post     *directory.Post
	Rotation *duty.Rotation
	People   []option
	Team     []int // indexes of the team rows
	Slots    []option
}

// teamRows is how many empty rows the rotation form adds to the team.
const teamRows = 3

func (w *Web) rotationForm(rw http.ResponseWriter, r *http.Request, post *directory.Post, rot *duty.Rotation, f *form, status int) {
	p := w.newPage(rw, r, "rosters.rotation_title", post.Code)
	people, err := w.rosterPeople(r.Context(), p.Lang, post)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	tr := w.tr(p.Lang)
	v := rotationView{Post: post, Rotation: rot, People: people,
		Slots: []option{{Value: "primary", Label: tr.T("slot.primary")}, {Value: "deputy", Label: tr.T("slot.deputy")}}}
	n := 0
	for k := range f.Values {
		if strings.HasPrefix(k, "team_") {
			if i, err := strconv.Atoi(strings.TrimPrefix(k, "team_")); err == nil && i+1 > n {
				n = i + 1
			}
		}
	}
	for i := 0; i < n+teamRows; i++ {
		v.Team = append(v.Team, i)
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "rotation", p)
}

// mayEdit refuses, as a page, the roster forms to those who may only read
// the roster (the store would refuse the change anyway).
func (w *Web) mayEdit(r *http.Request, post *directory.Post) error {
	now := w.Clock.Now()
	ro, err := w.Duty.Roster(r.Context(), post.ID, now, now.Add(time.Hour))
	if err != nil {
		return err
	}
	if !ro.Editable {
		return apperr.Forbidden("roster-edit", "only administrators, centre supervisors and the post's head may change its roster")
	}
	return nil
}

func (w *Web) rotationNew(rw http.ResponseWriter, r *http.Request) {
	post, err := w.rosterPost(r)
	if err == nil {
		err = w.mayEdit(r, post)
	}
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	f := newForm()
	f.Values["tz"] = post.TZ
	f.Values["handovers"] = "08:00"
	f.Values["slot"] = "primary"
	f.Values["start_date"] = w.Clock.Now().In(zoneOrUTC(post.TZ)).AddDate(0, 0, 1).Format("2006-01-02")
	w.rotationForm(rw, r, post, nil, f, http.StatusOK)
}

func zoneOrUTC(z string) *time.Location {
	if l, err := time.LoadLocation(z); err == nil {
		return l
	}
	return time.UTC
}

func rotationInput(post *directory.Post, f *form) duty.RotationInput {
	in := duty.RotationInput{PostID: post.ID, Name: f.Get("name"), Slot: duty.Slot(f.Get("slot")), TZ: f.Get("tz"), StartDate: f.Get("start_date")}
	for _, h := range strings.FieldsFunc(f.Get("handovers"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		in.Handovers = append(in.Handovers, h)
	}
	var keys []int
	for k := range f.Values {
		if strings.HasPrefix(k, "team_") {
			if i, err := strconv.Atoi(strings.TrimPrefix(k, "team_")); err == nil {
				keys = append(keys, i)
			}
		}
	}
	sort.Ints(keys)
	for _, i := range keys {
		if v := f.Get("team_" + strconv.Itoa(i)); v != "" {
			in.Team = append(in.Team, v)
		}
	}
	return in
}

// teamErrors moves team[i] errors to the i-th filled row's field.
func teamErrors(err error, f *form) error {
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	var filled []int
	for i := 0; i < 200; i++ {
		if f.Get("team_"+strconv.Itoa(i)) != "" {
			filled = append(filled, i)
		}
	}
	for k := range e.Fields {
		var i int
		if _, err := fmt.Sscanf(e.Fields[k].Field, "team[%d]", &i); err == nil && i < len(filled) {
			e.Fields[k].Field = "team_" + strconv.Itoa(filled[i])
		}
		if strings.HasPrefix(e.Fields[k].Field, "handovers[") {
			e.Fields[k].Field = "handovers"
		}
	}
	return err
}

func rotationFields(f *form) []string {
	out := []string{"name", "slot", "handovers", "tz", "start_date", "team"}
	for k := range f.Values {
		if strings.HasPrefix(k, "team_") {
			out = append(out, k)
		}
	}
	return out
}

func (w *Web) rotationCreate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if _, err := w.Duty.CreateRotation(r.Context(), rotationInput(post, f)); err != nil {
		if f.take(teamErrors(err, f), rotationFields(f)...) {
			w.rotationForm(rw, r, post, nil, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/rosters/"+url.PathEscape(post.Code)+"#rotations", "rotation_created")
}

func (w *Web) rotationEdit(rw http.ResponseWriter, r *http.Request) {
	post, err := w.rosterPost(r)
	if err == nil {
		err = w.mayEdit(r, post)
	}
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	rot, err := w.Duty.Rotation(r.Context(), r.PathValue("id"))
	if err != nil || rot.PostID != post.ID {
		if err == nil {
			err = apperr.NotFound("rotation")
		}
		w.fail(rw, r, err)
		return
	}
	f := newForm()
	f.Values["name"], f.Values["slot"], f.Values["tz"], f.Values["start_date"] = rot.Name, string(rot.Slot), rot.TZ, rot.StartDate
	f.Values["handovers"] = strings.Join(rot.Handovers, ", ")
	for i, id := range rot.Team {
		f.Values["team_"+strconv.Itoa(i)] = id
	}
	w.rotationForm(rw, r, post, &rot, f, http.StatusOK)
}

func (w *Web) rotationUpdate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	id := r.PathValue("id")
	if _, err := w.Duty.UpdateRotation(r.Context(), id, rotationInput(post, f)); err != nil {
		if f.take(teamErrors(err, f), rotationFields(f)...) {
			rot, _ := w.Duty.Rotation(r.Context(), id)
			w.rotationForm(rw, r, post, &rot, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/rosters/"+url.PathEscape(post.Code)+"#rotations", "saved")
}

func (w *Web) rotationArchive(rw http.ResponseWriter, r *http.Request) {
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if err := w.Duty.ArchiveRotation(r.Context(), r.PathValue("id")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/rosters/"+url.PathEscape(post.Code)+"#rotations", "rotation_archived")
}

// ---- escalation path ---------------------------------------------------------------

type escalationView struct {
	Post    *directory.Post
	Path    duty.EscalationPath
	Levels  []escLevel
	People  []option
	Targets []string
}

type escLevel struct {
	Index int
}

// escalationTargets are the kinds of target a level may reach, besides a
// named person.
var escalationTargets = []string{string(duty.TargetPrimary), string(duty.TargetDeputy), string(duty.TargetHead), string(duty.TargetCentre)}

func (w *Web) escalationForm(rw http.ResponseWriter, r *http.Request, post *directory.Post, path duty.EscalationPath, f *form, status int) {
	p := w.newPage(rw, r, "rosters.escalation", post.Code)
	people, err := w.rosterPeople(r.Context(), p.Lang, post)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if f == nil {
		f = newForm()
		for _, l := range path.Levels {
			i := strconv.Itoa(l.Level)
			for _, t := range l.Targets {
				if t.Target == duty.TargetPerson {
					f.Values["l"+i+"_person"] = t.PersonID
				} else {
					f.Multi["l"+i+"_target"] = append(f.Multi["l"+i+"_target"], string(t.Target))
				}
			}
			if l.DelaySeconds > 0 {
				f.Values["l"+i+"_delay"] = strconv.Itoa(l.DelaySeconds / 60)
			}
		}
	}
	v := escalationView{Post: post, Path: path, People: people, Targets: escalationTargets}
	n := len(path.Levels) + 1
	if n < 4 {
		n = 4
	}
	if n > duty.MaxLevels {
		n = duty.MaxLevels
	}
	for i := 0; i < n; i++ {
		v.Levels = append(v.Levels, escLevel{Index: i})
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "escalation", p)
}

func (w *Web) escalationEdit(rw http.ResponseWriter, r *http.Request) {
	post, err := w.rosterPost(r)
	if err == nil {
		err = w.mayEdit(r, post)
	}
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	path, err := w.Duty.EscalationPath(r.Context(), post.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.escalationForm(rw, r, post, path, nil, http.StatusOK)
}

func (w *Web) escalationSave(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	post, err := w.rosterPost(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	var levels []duty.EscalationLevel
	rowOf := map[int]int{} // level number given → form row
	if f.Get("restore") == "" {
		for i := 0; i < duty.MaxLevels; i++ {
			is := strconv.Itoa(i)
			var l duty.EscalationLevel
			for _, t := range f.Multi["l"+is+"_target"] {
				l.Targets = append(l.Targets, duty.EscalationTarget{Target: duty.Target(t)})
			}
			if pid := f.Get("l" + is + "_person"); pid != "" {
				l.Targets = append(l.Targets, duty.EscalationTarget{Target: duty.TargetPerson, PersonID: pid})
			}
			if len(l.Targets) == 0 {
				continue
			}
			if m, err := strconv.Atoi(f.Get("l" + is + "_delay")); err == nil {
				l.DelaySeconds = m * 60
			}
			rowOf[len(levels)] = i
			levels = append(levels, l)
		}
	}
	path, err := w.Duty.SetEscalationPath(r.Context(), post.ID, levels)
	if err != nil {
		if e, ok := apperr.As(err); ok {
			for k := range e.Fields {
				var i int
				var rest string
				if n, _ := fmt.Sscanf(e.Fields[k].Field, "levels[%d].%s", &i, &rest); n >= 1 {
					e.Fields[k].Field = "l" + strconv.Itoa(rowOf[i])
				}
			}
		}
		var shown []string
		for i := 0; i < duty.MaxLevels; i++ {
			shown = append(shown, "l"+strconv.Itoa(i))
		}
		if f.take(err, shown...) {
			cur, _ := w.Duty.EscalationPath(r.Context(), post.ID)
			w.escalationForm(rw, r, post, cur, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	_ = path
	w.redirectFlash(rw, r, "/rosters/"+url.PathEscape(post.Code)+"#escalation", "saved")
}
