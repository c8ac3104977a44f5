package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/duty"
	"sitroom/internal/httpx"
)

// SwapRequest is the body of POST /api/v1/shifts/swap.
type SwapRequest struct {
	ShiftA string `json:"shift_a"`
	ShiftB string `json:"shift_b"`
	Note   string `json:"note"`
}

// CoverRequest is the body of POST /api/v1/shifts/{id}/cover: PersonID
// takes over the shift from Start (default: its start, or now once it has
// started) to End (default: its end).
type CoverRequest struct {
	PersonID string     `json:"person_id"`
	Start    *time.Time `json:"start,omitempty"`
	End      *time.Time `json:"end,omitempty"`
	Note     string     `json:"note"`
}

// EndEarlyRequest is the body of POST /api/v1/shifts/{id}/end-early: the
// shift's holder leaves at At (default now) and PersonID takes the rest of
// it. A shift is never rewritten: the rest is an override row.
type EndEarlyRequest struct {
	PersonID string     `json:"person_id"`
	At       *time.Time `json:"at,omitempty"`
	Note     string     `json:"note"`
}

// HandoverRequest is the body of POST /api/v1/posts/{id}/handover-notes.
type HandoverRequest struct {
	Body string `json:"body"`
}

// HandoverForMe is what the incoming officer reads.
type HandoverForMe struct {
	Since time.Time           `json:"since"` // notes left after this instant
	Items []duty.HandoverNote `json:"items"`
}

// EscalationRequest is the body of PUT /api/v1/posts/{id}/escalation; an
// empty list restores the default path.
type EscalationRequest struct {
	Levels []duty.EscalationLevel `json:"levels"`
}

// FeedCreated is the answer of POST /api/v1/me/feeds: the token and the
// path of the feed (under the server's public address), shown this once.
type FeedCreated struct {
	duty.NewFeedToken
	Path string `json:"path"`
}

// Shifts is a list of shifts (a swap makes two).
type Shifts struct {
	Items []duty.Shift `json:"items"`
}

// FeedPath is where the iCalendar feeds of shifts are served.
const FeedPath = "/feeds/shifts/"

const maxRosterBody = 32 << 10

// bodyRef resolves a reference in a request body; an unknown or invisible
// record is a field error (422), not a 404 of the route.
func bodyRef(ctx context.Context, field, kind, ref string, resolve func(context.Context, string) (string, error)) (string, error) {
	if strings.TrimSpace(ref) == "" {
		return "", nil
	}
	id, err := resolve(ctx, ref)
	if apperr.Is(err, apperr.KindNotFound) {
		return "", apperr.Invalid(apperr.FieldError{Field: field, Code: "unknown_" + kind, Message: "no " + kind + " " + quoteRef(ref)})
	}
	return id, err
}

func quoteRef(s string) string { return "\"" + s + "\"" }

func (h *handlers) dutyRoutes(rt *router) {
	s := h.d.Duty
	rt.handle("GET", Prefix+"/duty/now", func(w http.ResponseWriter, r *http.Request) error {
		at, err := timeOr(r, "at", h.d.Clock.Now())
		if err != nil {
			return err
		}
		b, err := s.Board(r.Context(), at)
		if err != nil {
			return err
		}
		if b.Items == nil {
			b.Items = []duty.BoardItem{}
		}
		return ok(w, b)
	})
	rt.handle("GET", Prefix+"/duty/gaps", func(w http.ResponseWriter, r *http.Request) error {
		days, err := intParam(r, "days", 14, 1, duty.MaxGapDays)
		if err != nil {
			return err
		}
		from, err := timeOr(r, "from", h.d.Clock.Now())
		if err != nil {
			return err
		}
		post := ""
		if ref := r.URL.Query().Get("post"); ref != "" {
			if post, err = h.postID(r.Context(), ref); err != nil {
				return err
			}
		}
		gaps, err := s.Gaps(r.Context(), post, from, days)
		if err != nil {
			return err
		}
		return list(w, gaps, "")
	})

	// Shifts.
	rt.handle("GET", Prefix+"/posts/{id}/roster", func(w http.ResponseWriter, r *http.Request) error {
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		from, to, err := period(r, h.d.Clock.Now())
		if err != nil {
			return err
		}
		ro, err := s.Roster(r.Context(), post, from, to)
		if err != nil {
			return err
		}
		return ok(w, ro)
	})
	rt.handle("GET", Prefix+"/people/{id}/shifts", func(w http.ResponseWriter, r *http.Request) error {
		person, err := h.personID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return h.personShifts(w, r, person)
	})
	rt.handle("GET", Prefix+"/me/shifts", func(w http.ResponseWriter, r *http.Request) error {
		a := auth.From(r.Context())
		if a == nil {
			return signedIn(r)
		}
		if a.PersonID == "" {
			return notFound("person")
		}
		return h.personShifts(w, r, a.PersonID)
	})
	path := Prefix + "/shifts"
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[duty.ShiftInput](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		if err := h.shiftRefs(r, &in); err != nil {
			return err
		}
		sh, err := s.CreateShift(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, path+"/"+sh.ID, sh)
	})
	rt.handle("POST", path+"/swap", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[SwapRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		out, err := s.Swap(r.Context(), in.ShiftA, in.ShiftB, in.Note)
		if err != nil {
			return err
		}
		w.Header().Set("Location", path+"/"+out[0].ID)
		httpx.JSON(w, http.StatusCreated, Shifts{Items: out})
		return nil
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		sh, err := s.GetShift(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, sh)
	})
	rt.handle("PUT", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[duty.ShiftInput](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		if err := h.shiftRefs(r, &in); err != nil {
			return err
		}
		sh, err := s.UpdateShift(r.Context(), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return ok(w, sh)
	})
	rt.handle("DELETE", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.DeleteShift(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
	rt.handle("POST", path+"/{id}/cover", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[CoverRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		person, err := bodyRef(r.Context(), "person_id", "person", in.PersonID, h.personID)
		if err != nil {
			return err
		}
		c := duty.CoverInput{ShiftID: r.PathValue("id"), PersonID: person, Note: in.Note}
		if in.Start != nil {
			c.Start = *in.Start
		}
		if in.End != nil {
			c.End = *in.End
		}
		sh, err := s.Cover(r.Context(), c)
		if err != nil {
			return err
		}
		return created(w, path+"/"+sh.ID, sh)
	})
	rt.handle("POST", path+"/{id}/end-early", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[EndEarlyRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		person, err := bodyRef(r.Context(), "person_id", "person", in.PersonID, h.personID)
		if err != nil {
			return err
		}
		c := duty.CoverInput{ShiftID: r.PathValue("id"), PersonID: person, Note: in.Note}
		if in.At != nil {
			c.Start = *in.At
		}
		sh, err := s.Cover(r.Context(), c)
		if err != nil {
			return err
		}
		return created(w, path+"/"+sh.ID, sh)
	})

	// Rotations.
	rpath := Prefix + "/rotations"
	rt.handle("GET", rpath, func(w http.ResponseWriter, r *http.Request) error {
		if err := signedIn(r); err != nil {
			return err
		}
		ref := r.URL.Query().Get("post")
		if ref == "" {
			return badParam("post", "required", "post (a post's id or code) is required")
		}
		post, err := h.postID(r.Context(), ref)
		if err != nil {
			return err
		}
		items, err := s.Rotations(r.Context(), post)
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("POST", rpath, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[duty.RotationInput](w, r, maxRosterBody)
		if err != nil {
			return err
		}
		if err := h.rotationRefs(r, &in); err != nil {
			return err
		}
		rot, err := s.CreateRotation(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, rpath+"/"+rot.ID, rot)
	})
	rt.handle("GET", rpath+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		rot, err := s.Rotation(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, rot)
	})
	rt.handle("PUT", rpath+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[duty.RotationInput](w, r, maxRosterBody)
		if err != nil {
			return err
		}
		if err := h.rotationRefs(r, &in); err != nil {
			return err
		}
		rot, err := s.UpdateRotation(r.Context(), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return ok(w, rot)
	})
	rt.handle("POST", rpath+"/{id}/archive", func(w http.ResponseWriter, r *http.Request) error {
		id := r.PathValue("id")
		if err := s.ArchiveRotation(r.Context(), id); err != nil {
			return err
		}
		rot, err := s.Rotation(r.Context(), id)
		if err != nil {
			return err
		}
		return ok(w, rot)
	})

	// Handover notes.
	notes := Prefix + "/posts/{id}/handover-notes"
	rt.handle("GET", notes, func(w http.ResponseWriter, r *http.Request) error {
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		since, err := timeOr(r, "since", h.d.Clock.Now().Add(-7*24*time.Hour))
		if err != nil {
			return err
		}
		items, err := s.HandoverNotes(r.Context(), post, since)
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("GET", notes+"/for-me", func(w http.ResponseWriter, r *http.Request) error {
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		items, since, err := s.HandoverNotesForMe(r.Context(), post)
		if err != nil {
			return err
		}
		return ok(w, HandoverForMe{Since: since, Items: nonNil(items)})
	})
	rt.handle("POST", notes, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[HandoverRequest](w, r, 64<<10)
		if err != nil {
			return err
		}
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		n, err := s.WriteHandoverNote(r.Context(), post, in.Body)
		if err != nil {
			return err
		}
		return created(w, Prefix+"/posts/"+post+"/handover-notes", n)
	})
	rt.handle("POST", Prefix+"/handover-notes/{id}/read", func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		if err := s.MarkHandoverRead(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})

	// Escalation paths.
	esc := Prefix + "/posts/{id}/escalation"
	rt.handle("GET", esc, func(w http.ResponseWriter, r *http.Request) error {
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		p, err := s.EscalationPath(r.Context(), post)
		if err != nil {
			return err
		}
		return ok(w, p)
	})
	rt.handle("PUT", esc, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[EscalationRequest](w, r, maxRosterBody)
		if err != nil {
			return err
		}
		post, err := h.postID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		for i, l := range in.Levels {
			for j, t := range l.Targets {
				id, err := bodyRef(r.Context(), "levels", "person", t.PersonID, h.personID)
				if err != nil {
					return err
				}
				in.Levels[i].Targets[j].PersonID = id
			}
		}
		p, err := s.SetEscalationPath(r.Context(), post, in.Levels)
		if err != nil {
			return err
		}
		return ok(w, p)
	})

	// Calendar feeds of one's own shifts.
	feeds := Prefix + "/me/feeds"
	me := func(r *http.Request) (string, error) {
		a := auth.From(r.Context())
		if a == nil {
			return "", signedIn(r)
		}
		if a.PersonID == "" {
			return "", notFound("person")
		}
		return a.PersonID, nil
	}
	rt.handle("GET", feeds, func(w http.ResponseWriter, r *http.Request) error {
		person, err := me(r)
		if err != nil {
			return err
		}
		items, err := s.FeedTokens(r.Context(), person)
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("POST", feeds, func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		person, err := me(r)
		if err != nil {
			return err
		}
		ft, err := s.CreateFeedToken(r.Context(), person)
		if err != nil {
			return err
		}
		return created(w, feeds+"/"+ft.ID, FeedCreated{NewFeedToken: ft, Path: FeedPath + ft.Token + ".ics"})
	})
	rt.handle("DELETE", feeds+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		person, err := me(r)
		if err != nil {
			return err
		}
		// Only one's own tokens here (administrators manage others'
		// through the person's page): someone else's token does not exist.
		mine, err := s.FeedTokens(r.Context(), person)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		found := false
		for _, t := range mine {
			found = found || t.ID == id
		}
		if !found {
			return notFound("feed token")
		}
		if err := s.RevokeFeedToken(r.Context(), id); err != nil {
			return err
		}
		return noContent(w)
	})
	// The feed itself: public, the token in the URL is the credential
	// (calendar clients cannot sign in).
	rt.handle("GET", FeedPath+"{file}", func(w http.ResponseWriter, r *http.Request) error {
		tok, isICS := strings.CutSuffix(r.PathValue("file"), ".ics")
		if !isICS {
			return notFound("feed")
		}
		b, err := s.FeedByToken(r.Context(), tok)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		w.Header().Set("Cache-Control", "private, max-age=300")
		w.Header().Set("Content-Disposition", `inline; filename="shifts.ics"`)
		_, _ = w.Write(b)
		return nil
	})
}

func (h *handlers) personShifts(w http.ResponseWriter, r *http.Request, person string) error {
	from, to, err := period(r, h.d.Clock.Now())
	if err != nil {
		return err
	}
	segs, err := h.d.Duty.PersonShifts(r.Context(), person, from, to)
	if err != nil {
		return err
	}
	return list(w, segs, "")
}

// period reads ?from= and ?to= (default: the day before now to two weeks
// after).
func period(r *http.Request, now time.Time) (time.Time, time.Time, error) {
	from, err := timeOr(r, "from", now.Add(-24*time.Hour))
	if err != nil {
		return from, from, err
	}
	to, err := timeOr(r, "to", from.Add(15*24*time.Hour))
	return from, to, err
}

func (h *handlers) shiftRefs(r *http.Request, in *duty.ShiftInput) error {
	if err := signedIn(r); err != nil {
		return err
	}
	var err error
	if in.PostID, err = bodyRef(r.Context(), "post_id", "post", in.PostID, h.postID); err != nil {
		return err
	}
	in.PersonID, err = bodyRef(r.Context(), "person_id", "person", in.PersonID, h.personID)
	return err
}

func (h *handlers) rotationRefs(r *http.Request, in *duty.RotationInput) error {
	if err := signedIn(r); err != nil {
		return err
	}
	var err error
	if in.PostID, err = bodyRef(r.Context(), "post_id", "post", in.PostID, h.postID); err != nil {
		return err
	}
	for i, p := range in.Team {
		if in.Team[i], err = bodyRef(r.Context(), "team", "person", p, h.personID); err != nil {
			return err
		}
	}
	return nil
}
