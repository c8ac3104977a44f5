package api

import (
	"net/http"
	"time"

	"sitroom/internal/audit"
)

// VerifyReport is what GET /api/v1/audit/verify answers: audit.Report in
// the API's wire form (anchors written SEQ:HASH, as the CLI and the server
// log write them).
type VerifyReport struct {
	OK       bool        `json:"ok"`
	Checked  int64       `json:"checked"`          // sealed entries that verified
	Last     string      `json:"last"`             // SEQ:HASH of the last entry that verified ("0:" for none)
	Head     string      `json:"head"`             // SEQ:HASH of the chain head
	Unsealed int64       `json:"unsealed"`         // committed, not yet sealed (not an error)
	Anchor   string      `json:"anchor,omitempty"` // the anchor checked, if one was given
	Broken   *BrokenLink `json:"broken,omitempty"` // the first broken link
	At       time.Time   `json:"verified_at"`      // when the verification ran
}

// BrokenLink is the first place the chain stops being trustworthy.
type BrokenLink struct {
	Seq    int64  `json:"seq"`
	Reason string `json:"reason"`
}

func (h *handlers) auditRoutes(rt *router) {
	l := h.d.Audit
	path := Prefix + "/audit"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		f := audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), ObjectType: q.Get("object_type"),
			ObjectID: q.Get("object_id"), Limit: limit, Cursor: cursor}
		if f.From, err = timeParam(q, "from"); err != nil {
			return err
		}
		if f.To, err = timeParam(q, "to"); err != nil {
			return err
		}
		items, next, err := l.List(r.Context(), f)
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("GET", path+"/verify", func(w http.ResponseWriter, r *http.Request) error {
		var anchor *audit.Anchor
		if s := r.URL.Query().Get("anchor"); s != "" {
			a, err := audit.ParseAnchor(s)
			if err != nil {
				return badParam("anchor", "invalid_anchor", err.Error())
			}
			anchor = &a
		}
		rep, err := l.VerifyAs(r.Context(), anchor)
		if err != nil {
			return err
		}
		out := VerifyReport{OK: rep.OK(), Checked: rep.Checked, Last: rep.Last.String(), Head: rep.Head.String(),
			Unsealed: rep.Unsealed, At: h.d.Clock.Now()}
		if rep.Anchor != nil {
			out.Anchor = rep.Anchor.String()
		}
		if rep.Broken != nil {
			out.Broken = &BrokenLink{Seq: rep.Broken.Seq, Reason: rep.Broken.Reason}
		}
		return ok(w, out)
	})
}
