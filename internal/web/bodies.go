package web

import (
	"context"
	"net/http"

	"sitroom/internal/directory"
)

func (w *Web) bodyRoutes(mux *http.ServeMux) {
	s := &section[directory.Body]{
		name: "bodies", one: "body",
		fields:    []string{"code", "kind", "name_en", "name_ru", "short_en", "short_ru", "parent", "state", "tz", "working_hours"},
		list:      w.Directory.ListBodies,
		get:       w.Directory.GetBody,
		create:    w.Directory.CreateBody,
		update:    w.Directory.UpdateBody,
		archive:   w.Directory.ArchiveBody,
		unarchive: w.Directory.UnarchiveBody,
		code:      func(b *directory.Body) string { return b.Code },
		title:     func(lang string, b *directory.Body) string { return pick(lang, b.NameEN, b.NameRU) },
		fromForm: func(f *form) directory.Body {
			return directory.Body{Code: f.Get("code"), Kind: directory.BodyKind(f.Get("kind")), NameEN: f.Get("name_en"), NameRU: f.Get("name_ru"),
				ShortEN: f.Get("short_en"), ShortRU: f.Get("short_ru"), Parent: f.Get("parent"), State: f.Get("state"),
				TZ: f.Get("tz"), WorkingHours: f.Get("working_hours")}
		},
		toForm: func(b *directory.Body) *form {
			f := newForm()
			f.Values = map[string]string{"code": b.Code, "kind": string(b.Kind), "name_en": b.NameEN, "name_ru": b.NameRU,
				"short_en": b.ShortEN, "short_ru": b.ShortRU, "parent": b.Parent, "state": b.State, "tz": b.TZ, "working_hours": b.WorkingHours}
			return f
		},
	}
	s.listExtra = func(r *http.Request, lang string, _ []directory.Body) (any, error) {
		return w.bodyChoices(r.Context(), lang)
	}
	s.showExtra = func(r *http.Request, lang string, _ *directory.Body) (any, error) {
		return w.bodyChoices(r.Context(), lang)
	}
	s.formExtra = func(r *http.Request, lang string, _ *form) (any, error) { return w.bodyChoices(r.Context(), lang) }
	s.routes(w, mux)
}

// bodyChoices are the options of the body pages' filters and forms, and
// names to show for codes.
type bodyChoices struct {
	States     []option
	StateNames map[string]string
	Kinds      []option
	Bodies     []option
	BodyNames  map[string]string
}

func (w *Web) bodyChoices(ctx context.Context, lang string) (*bodyChoices, error) {
	c := &bodyChoices{StateNames: map[string]string{}, BodyNames: map[string]string{}}
	states, byCode, err := w.stateOptions(ctx, lang)
	if err != nil {
		return nil, err
	}
	c.States = states
	for code, s := range byCode {
		c.StateNames[code] = pick(lang, s.NameEN, s.NameRU)
	}
	tr := w.tr(lang)
	for _, k := range directory.BodyKinds {
		c.Kinds = append(c.Kinds, option{Value: string(k), Label: tr.T("body_kind." + string(k))})
	}
	if c.Bodies, c.BodyNames, err = w.bodyOptions(ctx, lang); err != nil {
		return nil, err
	}
	return c, nil
}

// bodyOptions lists every body (archived too, so an old reference still
// shows its name) for a select, and their names by code.
func (w *Web) bodyOptions(ctx context.Context, lang string) ([]option, map[string]string, error) {
	var opts []option
	names := map[string]string{}
	cursor := ""
	for {
		bodies, next, err := w.Directory.ListBodies(ctx, directory.ListOptions{Limit: directory.MaxLimit, IncludeArchived: true, Cursor: cursor})
		if err != nil {
			return nil, nil, err
		}
		for _, b := range bodies {
			n := pick(lang, b.NameEN, b.NameRU)
			if short := pick(lang, b.ShortEN, b.ShortRU); short != "" {
				n = short + " — " + n
			}
			names[b.Code] = pick(lang, b.NameEN, b.NameRU)
			opts = append(opts, option{Value: b.Code, Label: n})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return opts, names, nil
}
