package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"sitroom/internal/directory"
)

// emptyPositionRows is how many blank position rows the person form offers.
const emptyPositionRows = 1

var positionCols = []string{"pos_title_en", "pos_title_ru", "pos_start", "pos_end", "pos_body"}

func (w *Web) personRoutes(mux *http.ServeMux) {
	s := &section[directory.Person]{
		name: "people", one: "person",
		fields:    []string{"code", "name_en", "name_ru", "email", "phone", "languages", "state", "body", "positions"},
		list:      w.Directory.ListPeople,
		get:       w.Directory.GetPerson,
		create:    w.Directory.CreatePerson,
		update:    w.Directory.UpdatePerson,
		archive:   w.Directory.ArchivePerson,
		unarchive: w.Directory.UnarchivePerson,
		code:      func(p *directory.Person) string { return p.Code },
		title:     func(lang string, p *directory.Person) string { return pick(lang, p.NameEN, p.NameRU) },
		fromForm:  personFromForm,
		toForm: func(p *directory.Person) *form {
			f := newForm()
			f.Values = map[string]string{"code": p.Code, "name_en": p.NameEN, "name_ru": p.NameRU, "email": p.Email,
				"phone": p.Phone, "languages": strings.Join(p.Languages, ", "), "state": p.State, "body": p.Body}
			for i, q := range p.Positions {
				f.Multi["pos_title_en"] = append(f.Multi["pos_title_en"], q.TitleEN)
				f.Multi["pos_title_ru"] = append(f.Multi["pos_title_ru"], q.TitleRU)
				f.Multi["pos_start"] = append(f.Multi["pos_start"], q.StartDate)
				f.Multi["pos_end"] = append(f.Multi["pos_end"], q.EndDate)
				f.Multi["pos_body"] = append(f.Multi["pos_body"], q.Body)
				if q.Acting {
					f.Multi["pos_acting"] = append(f.Multi["pos_acting"], strconv.Itoa(i))
				}
			}
			return f
		},
		formFields: func(f *form) []string {
			var out []string
			for i := range f.Multi["pos_title_en"] {
				for _, k := range []string{"title_en", "title_ru", "start_date", "end_date", "body"} {
					out = append(out, fmt.Sprintf("positions[%d].%s", i, k))
				}
			}
			return out
		},
	}
	s.listExtra = func(r *http.Request, lang string, _ []directory.Person) (any, error) {
		return w.bodyChoices(r.Context(), lang)
	}
	s.showExtra = func(r *http.Request, lang string, _ *directory.Person) (any, error) {
		return w.bodyChoices(r.Context(), lang)
	}
	s.formExtra = func(r *http.Request, lang string, f *form) (any, error) {
		c, err := w.bodyChoices(r.Context(), lang)
		if err != nil {
			return nil, err
		}
		v := &personFormExtra{bodyChoices: c}
		n := len(f.Multi["pos_title_en"])
		for i := 0; i < n+emptyPositionRows; i++ {
			row := positionRow{Index: i}
			if i < n {
				row.TitleEN, row.TitleRU = at(f.Multi["pos_title_en"], i), at(f.Multi["pos_title_ru"], i)
				row.Start, row.End, row.Body = at(f.Multi["pos_start"], i), at(f.Multi["pos_end"], i), at(f.Multi["pos_body"], i)
				row.Acting = has(f.Multi["pos_acting"], strconv.Itoa(i))
			}
			v.Rows = append(v.Rows, row)
		}
		return v, nil
	}
	s.routes(w, mux)
}

type positionRow struct {
	Index                              int
	TitleEN, TitleRU, Start, End, Body string
	Acting                             bool
}

type personFormExtra struct {
	*bodyChoices
	Rows []positionRow
}

// personFromForm reads the person form; position rows left blank are
// dropped and the rest renumbered, in the form too, so that an error on
// positions[i] sits next to row i when the form comes back.
func personFromForm(f *form) directory.Person {
	p := directory.Person{Code: f.Get("code"), NameEN: f.Get("name_en"), NameRU: f.Get("name_ru"), Email: f.Get("email"),
		Phone: f.Get("phone"), State: f.Get("state"), Body: f.Get("body"), Languages: []string{}, Positions: []directory.Position{}}
	for _, l := range strings.FieldsFunc(f.Get("languages"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		p.Languages = append(p.Languages, l)
	}
	cols := map[string][]string{}
	for _, c := range positionCols {
		cols[c] = f.Multi[c]
	}
	acting := f.Multi["pos_acting"]
	out := map[string][]string{}
	var outActing []string
	for i := range cols["pos_title_en"] {
		q := directory.Position{TitleEN: trim(at(cols["pos_title_en"], i)), TitleRU: trim(at(cols["pos_title_ru"], i)),
			StartDate: trim(at(cols["pos_start"], i)), EndDate: trim(at(cols["pos_end"], i)), Body: trim(at(cols["pos_body"], i)),
			Acting: has(acting, strconv.Itoa(i))}
		if q.TitleEN == "" && q.TitleRU == "" && q.StartDate == "" && q.EndDate == "" && q.Body == "" {
			continue
		}
		if q.Acting {
			outActing = append(outActing, strconv.Itoa(len(p.Positions)))
		}
		p.Positions = append(p.Positions, q)
		out["pos_title_en"] = append(out["pos_title_en"], q.TitleEN)
		out["pos_title_ru"] = append(out["pos_title_ru"], q.TitleRU)
		out["pos_start"] = append(out["pos_start"], q.StartDate)
		out["pos_end"] = append(out["pos_end"], q.EndDate)
		out["pos_body"] = append(out["pos_body"], q.Body)
	}
	for _, c := range positionCols {
		f.Multi[c] = out[c]
	}
	f.Multi["pos_acting"] = outActing
	return p
}
