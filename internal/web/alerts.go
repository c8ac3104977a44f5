package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/directory"
)

func (w *Web) alertRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /alerts", w.section("alerts", w.alertList))
	mux.HandleFunc("GET /alerts/new", w.section("alerts", w.alertNew))
	mux.HandleFunc("POST /alerts/preview", w.section("alerts", w.alertPreview))
	mux.HandleFunc("POST /alerts", w.section("alerts", w.alertSend))
	mux.HandleFunc("GET /alerts/templates", w.section("alerts", w.templateList))
	mux.HandleFunc("POST /alerts/templates/{code}/delete", w.section("alerts", w.templateDelete))
	mux.HandleFunc("GET /alerts/{id}", w.section("alerts", w.alertShow))
	mux.HandleFunc("POST /alerts/{id}/cancel", w.section("alerts", w.alertEnd(alert.StateCancelled)))
	mux.HandleFunc("POST /alerts/{id}/close", w.section("alerts", w.alertEnd(alert.StateClosed)))
	mux.HandleFunc("POST /alerts/{id}/phone", w.section("alerts", w.alertPhone))
	mux.HandleFunc("POST /alerts/{id}/ack", w.section("alerts", w.alertAck))
}

// ---- list ------------------------------------------------------------------

type alertListView struct {
	State    string
	Exercise string
	Items    []alert.Alert
	Next     string
	Centre   bool
}

func (w *Web) alertList(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := alertListView{State: q.Get("state"), Exercise: q.Get("exercise"), Centre: actorOf(r).IsCentre()}
	o := alert.ListOptions{State: v.State, Cursor: q.Get("cursor"), Limit: 50}
	switch v.State {
	case "", alert.StateOpen, alert.StateCancelled, alert.StateClosed:
	default:
		v.State, o.State = "", ""
	}
	switch v.Exercise {
	case "1", "0":
		b := v.Exercise == "1"
		o.Exercise = &b
	default:
		v.Exercise = ""
	}
	items, next, err := w.Alerts.List(r.Context(), o)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	v.Items, v.Next = items, nextURL(r, next)
	p := w.newPage(rw, r, "alerts.title")
	p.Data = v
	if wantsFragment(r) == "list" {
		w.renderFragment(rw, r, "alerts", "alertrows", p)
		return
	}
	w.render(rw, r, http.StatusOK, "alerts", p)
}

// ---- composer --------------------------------------------------------------

// composeView is the composer: the form's choices and, once targets are
// chosen, the preview of who will be reached.
type composeView struct {
	Templates []alert.Template
	Template  string
	Choices   targetChoices
	Windows   []option
	Preview   *previewView
	// MustConfirm: the send was held back because the sender had not seen
	// the preview of these very targets.
	MustConfirm bool
	Corrects    *alert.Alert
}

// targetChoices are what the target picker offers.
type targetChoices struct {
	States     []option
	Ministries []option
	Groups     []postGroup
}

// targetChoices loads the picker's member states, ministry kinds and posts.
func (w *Web) targetChoices(r *http.Request, lang string) (targetChoices, *postIndex, error) {
	var c targetChoices
	names, opts, err := w.stateNames(r.Context(), lang)
	if err != nil {
		return c, nil, err
	}
	c.States = opts
	tr := w.tr(lang)
	for _, m := range directory.MinistryKinds {
		c.Ministries = append(c.Ministries, option{Value: m, Label: tr.T("ministry." + m)})
	}
	ix, err := w.posts(r.Context(), false)
	if err != nil {
		return c, nil, err
	}
	c.Groups = groupPosts(ix, names, tr)
	return c, ix, nil
}

// postGroup is the posts of one member state (State "" = the organisation).
type postGroup struct {
	State string
	Name  string
	Posts []*directory.Post
}

// previewView is the preview with names and translated reasons.
type previewView struct {
	Key        string // hash of the targets previewed (the form sends it back with Send)
	Recipients int
	Reached    []previewPost
	Nobody     []previewPost
	Excluded   []previewExcluded
	Unknown    []string
	Empty      bool // no target chosen yet
}

type previewPost struct {
	Code   string
	Name   string
	OnDuty []string
}

type previewExcluded struct {
	Code   string
	Name   string
	Reason string // a catalogue key suffix, or the store's English text
	Known  bool
}

// ackWindows are the composer's choices of how long posts have to
// acknowledge, in seconds.
var ackWindows = []int{60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200, 14400, 28800, 43200, 86400}

func (w *Web) alertNew(rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsCentre() {
		w.fail(rw, r, apperr.Forbidden("", "only the centre's duty officers send alerts"))
		return
	}
	f := newForm()
	f.Values["priority"] = string(alert.Urgent)
	f.Values["ack_within"] = "300"
	q := r.URL.Query()
	if code := q.Get("template"); code != "" {
		t, err := w.Alerts.Template(r.Context(), code)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		fillFromTemplate(f, t)
	}
	if c := q.Get("corrects"); c != "" {
		f.Values["corrects"] = c
	}
	for _, k := range []string{"post", "state"} {
		if v := q.Get(k); v != "" {
			f.Multi[k] = append(f.Multi[k], v)
		}
	}
	w.renderComposer(rw, r, f, false, http.StatusOK)
}

func fillFromTemplate(f *form, t *alert.Template) {
	f.Values["template"] = t.Code
	f.Values["title"], f.Values["body"] = t.Title, t.Body
	f.Values["priority"] = string(t.Priority)
	f.Values["ack_within"] = strconv.Itoa(t.AckWithinSeconds)
	if t.Exercise {
		f.Values["exercise"] = "1"
	}
	if t.Targets.All {
		f.Values["all"] = "1"
	}
	f.Multi["state"] = t.Targets.States
	f.Multi["ministry"] = t.Targets.MinistryKinds
	f.Multi["post"] = t.Targets.Posts
}

// targetsOf reads the target picker.
func targetsOf(f *form) alert.Targets {
	t := alert.Targets{All: f.Get("all") == "1"}
	if !t.All {
		t.States = nonEmpty(f.Multi["state"])
		t.MinistryKinds = nonEmpty(f.Multi["ministry"])
		t.Posts = nonEmpty(f.Multi["post"])
	}
	return t
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// targetsKey identifies a choice of targets: the preview shown and the
// send must agree on it.
func targetsKey(t alert.Targets) string {
	norm := func(xs []string) string {
		c := append([]string(nil), xs...)
		sort.Strings(c)
		return strings.Join(c, ",")
	}
	s := "all=" + strconv.FormatBool(t.All) + "|s=" + norm(t.States) + "|m=" + norm(t.MinistryKinds) + "|p=" + norm(t.Posts)
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func (w *Web) renderComposer(rw http.ResponseWriter, r *http.Request, f *form, mustConfirm bool, status int) {
	ctx := r.Context()
	p := w.newPage(rw, r, "compose.title")
	v := composeView{MustConfirm: mustConfirm, Template: f.Get("template")}
	var err error
	if v.Templates, err = w.Alerts.Templates(ctx); err != nil {
		w.fail(rw, r, err)
		return
	}
	choices, ix, err := w.targetChoices(r, p.Lang)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	v.Choices = choices
	tr := w.tr(p.Lang)
	cur, _ := strconv.Atoi(f.Get("ack_within"))
	seen := false
	for _, s := range ackWindows {
		v.Windows = append(v.Windows, option{Value: strconv.Itoa(s), Label: tr.within(s)})
		seen = seen || s == cur
	}
	if !seen && cur > 0 {
		v.Windows = append(v.Windows, option{Value: strconv.Itoa(cur), Label: tr.within(cur)})
	}
	if c := f.Get("corrects"); c != "" {
		if al, err := w.Alerts.Get(ctx, c); err == nil {
			v.Corrects = al
		}
	}
	if v.Preview, err = w.preview(r, ix, targetsOf(f)); err != nil {
		w.fail(rw, r, err)
		return
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "compose", p)
}

func groupPosts(ix *postIndex, stateNames map[string]string, tr translator) []postGroup {
	var out []postGroup
	for _, p := range ix.list {
		if len(out) == 0 || out[len(out)-1].State != p.State {
			name := stateNames[p.State]
			if p.State == "" {
				name = tr.T("dir.organisation")
			}
			out = append(out, postGroup{State: p.State, Name: name})
		}
		out[len(out)-1].Posts = append(out[len(out)-1].Posts, p)
	}
	return out
}

// knownReasons are the store's reasons for leaving a post out, with their
// catalogue keys.
var knownReasons = map[string]string{
	"the sending post":         "sender",
	"post archived":            "post_archived",
	"member state archived":    "state_archived",
	"member state suspended":   "state_suspended",
	"member state withdrawn":   "state_withdrawn",
	"not an active member":     "state_inactive",
	"the post is archived":     "post_archived",
	"the member state is gone": "state_archived",
}

// preview asks the alert service who the targets reach now.
func (w *Web) preview(r *http.Request, ix *postIndex, t alert.Targets) (*previewView, error) {
	v := &previewView{Key: targetsKey(t)}
	if !t.All && len(t.States) == 0 && len(t.MinistryKinds) == 0 && len(t.Posts) == 0 {
		v.Empty = true
		return v, nil
	}
	pr, err := w.Alerts.Preview(r.Context(), t)
	if err != nil {
		return nil, err
	}
	lang := w.langOf(r, w.accountOf(r))
	nameOf := func(code string) string {
		if p := ix.get(code); p != nil {
			return pick(lang, p.NameEN, p.NameRU)
		}
		return ""
	}
	v.Recipients, v.Unknown = pr.Recipients, pr.Unknown
	for _, p := range pr.Posts {
		pp := previewPost{Code: p.Code, Name: nameOf(p.Code)}
		for _, od := range p.OnDuty {
			pp.OnDuty = append(pp.OnDuty, od.Name)
		}
		if p.NobodyOnDuty {
			v.Nobody = append(v.Nobody, pp)
		} else {
			v.Reached = append(v.Reached, pp)
		}
	}
	for _, e := range pr.Excluded {
		x := previewExcluded{Code: e.Code, Name: nameOf(e.Code), Reason: e.Reason}
		if k, ok := knownReasons[e.Reason]; ok {
			x.Reason, x.Known = k, true
		}
		v.Excluded = append(v.Excluded, x)
	}
	return v, nil
}

// alertPreview answers the composer's script with the preview part.
func (w *Web) alertPreview(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	ix, err := w.posts(r.Context(), false)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	pv, err := w.preview(r, ix, targetsOf(f))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "compose.title")
	p.Form = f
	p.Data = composeView{Preview: pv}
	w.renderFragment(rw, r, "compose", "preview", p)
}

func (w *Web) alertSend(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	if f.Get("use_template") != "" {
		// The template picker without script: fill the form, send nothing.
		t, err := w.Alerts.Template(r.Context(), f.Get("template"))
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		fillFromTemplate(f, t)
		w.renderComposer(rw, r, f, false, http.StatusOK)
		return
	}
	t := targetsOf(f)
	if f.Get("action") == "save_template" {
		w.templateSave(rw, r, f, t)
		return
	}
	if f.Get("preview_key") != targetsKey(t) || f.Get("action") == "preview" {
		// The sender has not seen who these targets reach: show it first.
		w.renderComposer(rw, r, f, f.Get("action") != "preview", http.StatusOK)
		return
	}
	within, _ := strconv.Atoi(f.Get("ack_within"))
	in := alert.NewAlert{
		Title: f.Get("title"), Body: r.PostFormValue("body"), Priority: alert.Priority(f.Get("priority")),
		AckWithinSeconds: within, Exercise: f.Get("exercise") == "1", Corrects: f.Get("corrects"), Targets: t,
	}
	al, err := w.Alerts.Send(r.Context(), in)
	if err != nil {
		err = mapField(err, "ack_within_seconds", "ack_within")
		err = mapField(err, "targets.posts", "targets")
		if f.take(err, "title", "body", "priority", "ack_within", "targets", "corrects") {
			w.renderComposer(rw, r, f, false, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/alerts/"+url.PathEscape(al.ID), "alert_sent")
}

// ---- detail ------------------------------------------------------------------

type alertView struct {
	A        *alert.Alert
	Centre   bool
	Open     bool
	Rows     []deliveryRow
	Sender   string
	Targets  targetsView
	Corrects *alert.Alert
	Zone     string // the viewer's zone
}

type deliveryRow struct {
	alert.Delivery
	Name string
	TZ   string
	// ShowAck: the viewer is on duty at the post (or was when it was
	// sent) and nobody has acknowledged; ShowPhone: the centre may record
	// a phone confirmation.
	ShowAck   bool
	ShowPhone bool
}

type targetsView struct {
	All        bool
	States     []string
	Ministries []string
	Posts      []string
}

func (w *Web) alertShow(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a := actorOf(r)
	al, err := w.Alerts.Get(ctx, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	ix, err := w.posts(ctx, true)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	lang := w.langOf(r, w.accountOf(r))
	title := al.Title
	if al.Exercise {
		title = w.tr(lang).T("exercise.prefix") + " " + title
	}
	p := w.newPage(rw, r, "alert.title", title)
	v := alertView{A: al, Centre: a.IsCentre(), Open: al.State == alert.StateOpen, Zone: p.Clock.Zone,
		Targets: targetsView{All: al.Targets.All, States: al.Targets.States, Ministries: al.Targets.MinistryKinds, Posts: al.Targets.Posts}}
	if al.SenderPostID != nil {
		if sp := ix.get(*al.SenderPostID); sp != nil {
			v.Sender = sp.Code
		}
	}
	if al.Corrects != nil {
		v.Corrects, _ = w.Alerts.Get(ctx, *al.Corrects)
	}
	onDuty := map[string]bool{}
	if a.PersonID != "" && w.Duty != nil && !a.IsCentre() {
		ids := make([]string, 0, len(al.Deliveries))
		for _, d := range al.Deliveries {
			ids = append(ids, d.PostID)
		}
		if m, err := w.Duty.OnDuty(ctx, ids, w.Clock.Now()); err == nil {
			for post, es := range m {
				for _, e := range es {
					if e.PersonID == a.PersonID {
						onDuty[post] = true
					}
				}
			}
		}
	}
	for _, d := range al.Deliveries {
		row := deliveryRow{Delivery: d}
		if pp := ix.get(d.PostID); pp != nil {
			row.Name, row.TZ = pick(lang, pp.NameEN, pp.NameRU), pp.TZ
		}
		open := al.State == alert.StateOpen && d.AckedAt == nil
		if open && !a.IsCentre() && a.PersonID != "" {
			row.ShowAck = onDuty[d.PostID]
			for _, od := range d.OnDuty {
				row.ShowAck = row.ShowAck || od.PersonID == a.PersonID
			}
		}
		row.ShowPhone = open && a.IsCentre() && d.PhoneAt == nil && d.State != alert.DCancelled
		v.Rows = append(v.Rows, row)
	}
	// The silent posts first: they are what the centre must act on.
	sort.SliceStable(v.Rows, func(i, j int) bool { return silence(v.Rows[i].Delivery) > silence(v.Rows[j].Delivery) })
	p.Data = v
	if wantsFragment(r) == "deliveries" {
		w.renderFragment(rw, r, "alert", "deliveries", p)
		return
	}
	w.render(rw, r, http.StatusOK, "alert", p)
}

// silence ranks a delivery for the detail page: missed and escalated
// first, then waiting, then answered by phone, acknowledged, cancelled.
func silence(d alert.Delivery) int {
	switch {
	case d.State == alert.DMissed:
		return 6
	case d.State == alert.DEscalated:
		return 5
	case d.State == alert.DPending:
		return 4
	case d.State == alert.DDelivered && d.PhoneAt == nil:
		return 3
	case d.AckedAt == nil && d.PhoneAt != nil:
		return 2
	case d.State == alert.DAcknowledged:
		return 1
	}
	return 0
}

func (w *Web) alertEnd(state string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		comment := r.PostFormValue("comment")
		var err error
		if state == alert.StateCancelled {
			_, err = w.Alerts.Cancel(r.Context(), id, comment)
		} else {
			_, err = w.Alerts.Close(r.Context(), id, comment)
		}
		if err != nil {
			if e, ok := apperr.As(err); ok && e.Kind == apperr.KindInvalid {
				w.redirectFlash(rw, r, "/alerts/"+url.PathEscape(id)+"#end", "comment_required")
				return
			}
			w.fail(rw, r, err)
			return
		}
		w.redirectFlash(rw, r, "/alerts/"+url.PathEscape(id), "alert_"+state)
	}
}

func (w *Web) alertPhone(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	post := r.PostFormValue("post_id")
	_, err := w.Alerts.ConfirmByPhone(r.Context(), id, post, r.PostFormValue("note"))
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindInvalid {
			w.redirectFlash(rw, r, "/alerts/"+url.PathEscape(id)+"#d-"+url.PathEscape(post), "note_required")
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/alerts/"+url.PathEscape(id)+"#d-"+url.PathEscape(post), "phone_recorded")
}

// alertAck is the acknowledge button of the pages (My duty, the alert) for
// a browser without script; the overlay uses the JSON API.
func (w *Web) alertAck(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := w.Alerts.Acknowledge(r.Context(), id, r.PostFormValue("post_id"), alert.ChannelWeb); err != nil {
		w.fail(rw, r, err)
		return
	}
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/alerts/" + url.PathEscape(id)
	}
	w.redirectFlash(rw, r, next, "acknowledged")
}

// ---- templates of recurring messages -------------------------------------------

// templateSave keeps the composer's message (and its targets, if any) as a
// template under the code given; a code in use is overwritten, which is
// how a template is edited: use it, change it, save it again.
func (w *Web) templateSave(rw http.ResponseWriter, r *http.Request, f *form, t alert.Targets) {
	within, _ := strconv.Atoi(f.Get("ack_within"))
	in := alert.TemplateInput{Code: f.Get("template_code"), NameEN: f.Get("template_name_en"), NameRU: f.Get("template_name_ru"),
		Title: f.Get("title"), Body: r.PostFormValue("body"), Priority: alert.Priority(f.Get("priority")), AckWithinSeconds: within,
		Exercise: f.Get("exercise") == "1", Targets: t}
	_, err := w.Alerts.CreateTemplate(r.Context(), in)
	if e, ok := apperr.As(err); ok && e.Kind == apperr.KindConflict && e.Type == "duplicate-code" {
		_, err = w.Alerts.UpdateTemplate(r.Context(), in.Code, in)
	}
	if err != nil {
		for _, k := range []string{"code", "name_en", "name_ru"} {
			err = mapField(err, k, "template_"+k)
		}
		err = mapField(err, "ack_within_seconds", "ack_within")
		if f.take(err, "title", "body", "priority", "ack_within", "targets", "template_code", "template_name_en", "template_name_ru") {
			f.Values["save_open"] = "1"
			w.renderComposer(rw, r, f, false, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/alerts/new?template="+url.QueryEscape(in.Code), "template_saved")
}

type templateListView struct {
	Items []alert.Template
}

func (w *Web) templateList(rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsCentre() {
		w.fail(rw, r, apperr.Forbidden("", "alert templates belong to the centre's duty officers"))
		return
	}
	items, err := w.Alerts.Templates(r.Context())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "templates.title")
	p.Data = templateListView{Items: items}
	w.render(rw, r, http.StatusOK, "templates", p)
}

func (w *Web) templateDelete(rw http.ResponseWriter, r *http.Request) {
	if err := w.Alerts.DeleteTemplate(r.Context(), r.PathValue("code")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/alerts/templates", "template_deleted")
}
