package api

import (
	"context"
	"net/http"

	"sitroom/internal/directory"
)

// resource is one kind of directory record and the store methods that serve
// it. Every kind has the same routes, so they are registered by one generic
// function and every handler has the same shape: parse → store → respond.
type resource[T any] struct {
	path      string // e.g. /api/v1/posts
	list      func(context.Context, directory.ListOptions) ([]T, string, error)
	get       func(context.Context, string) (*T, error)
	create    func(context.Context, T) (*T, error)
	update    func(context.Context, string, T) (*T, error)
	archive   func(context.Context, string) (*T, error)
	unarchive func(context.Context, string) (*T, error)
	id        func(*T) string
}

func crudRoutes[T any](rt *router, res resource[T]) {
	one := res.path + "/{id}"
	rt.handle("GET", res.path, func(w http.ResponseWriter, r *http.Request) error {
		lq, err := parseList(r)
		if err != nil {
			return err
		}
		items, next, err := res.list(r.Context(), directory.ListOptions{
			Query: lq.Q, State: lq.State, Kind: lq.Kind, MinistryKind: r.URL.Query().Get("ministry_kind"),
			IncludeArchived: lq.IncludeArchived, Limit: lq.Limit, Cursor: lq.Cursor,
		})
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("POST", res.path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[T](w, r, maxRecordBody)
		if err != nil {
			return err
		}
		out, err := res.create(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, res.path+"/"+res.id(out), out)
	})
	rt.handle("GET", one, func(w http.ResponseWriter, r *http.Request) error {
		out, err := res.get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, out)
	})
	rt.handle("PUT", one, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[T](w, r, maxRecordBody)
		if err != nil {
			return err
		}
		out, err := res.update(r.Context(), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return ok(w, out)
	})
	rt.handle("POST", one+"/archive", func(w http.ResponseWriter, r *http.Request) error {
		out, err := res.archive(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, out)
	})
	rt.handle("POST", one+"/unarchive", func(w http.ResponseWriter, r *http.Request) error {
		out, err := res.unarchive(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, out)
	})
}

func (h *handlers) memberStateRoutes(rt *router) {
	s := h.d.Directory
	path := Prefix + "/member-states"
	crudRoutes(rt, resource[directory.MemberState]{path: path,
		list: s.ListMemberStates, get: s.GetMemberState, create: s.CreateMemberState, update: s.UpdateMemberState,
		archive: s.ArchiveMemberState, unarchive: s.UnarchiveMemberState,
		id: func(m *directory.MemberState) string { return m.ID }})
	rt.handle("POST", path+"/{id}/status", func(w http.ResponseWriter, r *http.Request) error {
		ch, err := decode[directory.StatusChange](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		out, err := s.AddStatusChange(r.Context(), r.PathValue("id"), ch)
		if err != nil {
			return err
		}
		return ok(w, out)
	})
}

func (h *handlers) bodyRoutes(rt *router) {
	s := h.d.Directory
	crudRoutes(rt, resource[directory.Body]{path: Prefix + "/bodies",
		list: s.ListBodies, get: s.GetBody, create: s.CreateBody, update: s.UpdateBody,
		archive: s.ArchiveBody, unarchive: s.UnarchiveBody,
		id: func(b *directory.Body) string { return b.ID }})
}

func (h *handlers) postRoutes(rt *router) {
	s := h.d.Directory
	crudRoutes(rt, resource[directory.Post]{path: Prefix + "/posts",
		list: s.ListPosts, get: s.GetPost, create: s.CreatePost, update: s.UpdatePost,
		archive: s.ArchivePost, unarchive: s.UnarchivePost,
		id: func(p *directory.Post) string { return p.ID }})
}

func (h *handlers) personRoutes(rt *router) {
	s := h.d.Directory
	path := Prefix + "/people"
	crudRoutes(rt, resource[directory.Person]{path: path,
		list: s.ListPeople, get: s.GetPerson, create: s.CreatePerson, update: s.UpdatePerson,
		archive: s.ArchivePerson, unarchive: s.UnarchivePerson,
		id: func(p *directory.Person) string { return p.ID }})
	// The positions a person held, as history. They are changed with the
	// person (PUT /people/{id} carries the whole list), so that one audit
	// entry holds the person before and after.
	rt.handle("GET", path+"/{id}/positions", func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.GetPerson(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return list(w, p.Positions, "")
	})
}
