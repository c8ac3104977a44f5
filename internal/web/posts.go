package web

import (
	"context"
	"fmt"
	"net/http"

	"sitroom/internal/directory"
)

// emptyContactRows is how many blank contact rows the post form offers.
const emptyContactRows = 2

func (w *Web) postRoutes(mux *http.ServeMux) {
	s := &section[directory.Post]{
		name: "posts", one: "post",
		fields:    []string{"code", "kind", "name_en", "name_ru", "state", "body", "ministry_kind", "tz", "head", "contacts"},
		list:      w.Directory.ListPosts,
		get:       w.Directory.GetPost,
		create:    w.Directory.CreatePost,
		update:    w.Directory.UpdatePost,
		archive:   w.Directory.ArchivePost,
		unarchive: w.Directory.UnarchivePost,
		code:      func(p *directory.Post) string { return p.Code },
		title:     func(lang string, p *directory.Post) string { return pick(lang, p.NameEN, p.NameRU) },
		fromForm:  postFromForm,
		toForm: func(p *directory.Post) *form {
			f := newForm()
			f.Values = map[string]string{"code": p.Code, "kind": string(p.Kind), "name_en": p.NameEN, "name_ru": p.NameRU,
				"state": p.State, "body": p.Body, "ministry_kind": p.MinistryKind, "tz": p.TZ, "head": p.Head}
			for _, c := range p.Contacts {
				f.Multi["contact_kind"] = append(f.Multi["contact_kind"], c.Kind)
				f.Multi["contact_value"] = append(f.Multi["contact_value"], c.Value)
				f.Multi["contact_note"] = append(f.Multi["contact_note"], c.Note)
			}
			return f
		},
		formFields: func(f *form) []string {
			var out []string
			for i := range f.Multi["contact_kind"] {
				for _, k := range []string{"kind", "value", "note"} {
					out = append(out, fmt.Sprintf("contacts[%d].%s", i, k))
				}
			}
			return out
		},
	}
	s.listExtra = func(r *http.Request, lang string, items []directory.Post) (any, error) {
		c, err := w.postChoices(r.Context(), lang, false)
		if err != nil {
			return nil, err
		}
		c.Times = map[string]zoneTime{}
		for _, p := range items {
			if _, ok := c.Times[p.TZ]; !ok {
				c.Times[p.TZ] = w.zoneNow(p.TZ)
			}
		}
		return c, nil
	}
	s.showExtra = func(r *http.Request, lang string, p *directory.Post) (any, error) {
		c, err := w.postChoices(r.Context(), lang, false)
		if err != nil {
			return nil, err
		}
		c.Times = map[string]zoneTime{p.TZ: w.zoneNow(p.TZ)}
		if p.Head != "" {
			if h, err := w.Directory.GetPerson(r.Context(), p.Head); err == nil {
				c.HeadName = pick(lang, h.NameEN, h.NameRU)
			}
		}
		return c, nil
	}
	s.formExtra = func(r *http.Request, lang string, f *form) (any, error) {
		c, err := w.postChoices(r.Context(), lang, true)
		if err != nil {
			return nil, err
		}
		n := len(f.Multi["contact_kind"])
		for i := 0; i < n+emptyContactRows; i++ {
			row := contactRow{Index: i}
			if i < n {
				row.Kind = at(f.Multi["contact_kind"], i)
				row.Value = at(f.Multi["contact_value"], i)
				row.Note = at(f.Multi["contact_note"], i)
			}
			c.ContactRows = append(c.ContactRows, row)
		}
		return c, nil
	}
	s.routes(w, mux)
}

func at(xs []string, i int) string {
	if i < len(xs) {
		return xs[i]
	}
	return ""
}

// postFromForm reads the post form. Contact rows left blank are dropped,
// and the form keeps the rows as sent to the store so that an error on
// contacts[i] sits next to row i when the form comes back.
func postFromForm(f *form) directory.Post {
	p := directory.Post{Code: f.Get("code"), Kind: directory.PostKind(f.Get("kind")), NameEN: f.Get("name_en"), NameRU: f.Get("name_ru"),
		State: f.Get("state"), Body: f.Get("body"), MinistryKind: f.Get("ministry_kind"), TZ: f.Get("tz"), Head: f.Get("head"),
		Contacts: []directory.Contact{}}
	kinds, values, notes := f.Multi["contact_kind"], f.Multi["contact_value"], f.Multi["contact_note"]
	var k2, v2, n2 []string
	for i := range kinds {
		c := directory.Contact{Kind: trim(at(kinds, i)), Value: trim(at(values, i)), Note: trim(at(notes, i))}
		if c.Kind == "" && c.Value == "" && c.Note == "" {
			continue
		}
		p.Contacts = append(p.Contacts, c)
		k2, v2, n2 = append(k2, c.Kind), append(v2, c.Value), append(n2, c.Note)
	}
	f.Multi["contact_kind"], f.Multi["contact_value"], f.Multi["contact_note"] = k2, v2, n2
	return p
}

type contactRow struct {
	Index             int
	Kind, Value, Note string
}

// postChoices are the options and names the post pages need.
type postChoices struct {
	*bodyChoices
	PostKinds     []option
	MinistryKinds []option
	ContactKinds  []option
	People        []option // for the head field (forms only)
	Times         map[string]zoneTime
	HeadName      string
	ContactRows   []contactRow
}

func (w *Web) postChoices(ctx context.Context, lang string, forForm bool) (*postChoices, error) {
	bc, err := w.bodyChoices(ctx, lang)
	if err != nil {
		return nil, err
	}
	tr := w.tr(lang)
	c := &postChoices{bodyChoices: bc}
	for _, k := range []directory.PostKind{directory.PostCentre, directory.PostMinistry} {
		c.PostKinds = append(c.PostKinds, option{Value: string(k), Label: tr.T("post_kind." + string(k))})
	}
	for _, k := range directory.MinistryKinds {
		c.MinistryKinds = append(c.MinistryKinds, option{Value: k, Label: tr.T("ministry." + k)})
	}
	for _, k := range directory.ContactKinds {
		c.ContactKinds = append(c.ContactKinds, option{Value: k, Label: tr.T("contact." + k)})
	}
	if forForm {
		if c.People, err = w.peopleOptions(ctx, lang); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// peopleOptions lists the people the caller may see, for a person field.
func (w *Web) peopleOptions(ctx context.Context, lang string) ([]option, error) {
	var out []option
	cursor := ""
	for {
		people, next, err := w.Directory.ListPeople(ctx, directory.ListOptions{Limit: directory.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, p := range people {
			out = append(out, option{Value: p.Code, Label: pick(lang, p.NameEN, p.NameRU)})
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}
