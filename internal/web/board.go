package web

import (
	"net/http"
	"sort"

	"sitroom/internal/board"
	"sitroom/internal/httpx"
)

func (w *Web) boardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /board", w.section("situation", w.boardPage))
	mux.HandleFunc("GET /board/presence.json", w.section("situation", w.boardPresence))
}

// boardPresence is each post's latest heartbeat (ms since the epoch), which
// the board's script reads every 15 s: a post that stays connected
// announces nothing on the stream, only its heartbeats say it is there.
func (w *Web) boardPresence(rw http.ResponseWriter, r *http.Request) {
	st, err := w.Presence.States(r.Context(), w.Clock.Now())
	if err != nil {
		httpx.Error(rw, r, err)
		return
	}
	out := make(map[string]int64, len(st))
	for id, s := range st {
		out[id] = s.LastAt.UnixMilli()
	}
	httpx.JSON(rw, http.StatusOK, out)
}

// boardView is the situation board: every post the viewer may see, by
// member state, each a tile coloured by its most urgent delivery state.
type boardView struct {
	Groups  []boardGroup
	Alerts  []board.OpenAlert
	Summary board.Summary
	Centre  bool
	Script  boardScript
	Window  int // seconds a heartbeat keeps a post connected
	Sums    boardSums
}

// boardSums count the tiles by colour (the script keeps them current).
type boardSums struct {
	Disconnected, Red, Amber, Green int
}

func (s *boardSums) add(t boardTile) {
	if !t.Centre && !t.Connected {
		s.Disconnected++
	}
	switch t.Attention {
	case "missed", "escalated":
		s.Red++
	case "pending", "delivered":
		s.Amber++
	case "acknowledged", "confirmed_by_phone":
		s.Green++
	}
}

type boardGroup struct {
	State   string
	Name    string
	Summary board.Summary
	Tiles   []boardTile
}

// boardTile is one post.
type boardTile struct {
	board.PostRow
	Name   string
	Time   zoneTime
	Centre bool        // the organisation's own desk: never marked connected
	Cells  []boardCell // the open alerts that address it, newest first
	Latest string      // the newest of them (Enter opens it)
	Search string      // what the filter matches
	Duty   []dutyName
}

type dutyName struct {
	Name string
	Slot string
}

type boardCell struct {
	board.Cell
	Title    string
	Exercise bool
	Priority string
}

// boardScript is what static/board.js needs to keep the tiles live.
type boardScript struct {
	Alerts   []scriptAlert         `json:"alerts"`
	Posts    map[string]scriptPost `json:"posts"`
	WindowMS int64                 `json:"window_ms"`
	At       int64                 `json:"at"`
}

type scriptAlert struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Priority string `json:"priority"`
	Exercise bool   `json:"exercise"`
}

type scriptPost struct {
	Code     string                `json:"code"`
	Centre   bool                  `json:"centre"`
	LastSeen int64                 `json:"last_seen"` // ms; 0 never
	Cells    map[string]scriptCell `json:"cells"`
}

type scriptCell struct {
	State string `json:"state"`
	Late  bool   `json:"late"`
	Phone bool   `json:"phone"`
	Acked int64  `json:"acked"` // ms; 0 not yet
}

func (w *Web) boardPage(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b, err := w.Board.Board(ctx, board.Options{Alerts: board.MaxAlerts})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	ix, err := w.posts(ctx, false)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "board.title")
	names, _, err := w.stateNames(ctx, p.Lang)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	tr := w.tr(p.Lang)
	v := boardView{Alerts: b.Alerts, Summary: b.Summary, Centre: actorOf(r).IsCentre(), Window: b.ConnectedWindowSeconds,
		Script: boardScript{Posts: map[string]scriptPost{}, WindowMS: int64(b.ConnectedWindowSeconds) * 1000, At: b.At.UnixMilli()}}
	byID := map[string]board.OpenAlert{}
	for _, al := range b.Alerts {
		byID[al.ID] = al
		v.Script.Alerts = append(v.Script.Alerts, scriptAlert{ID: al.ID, Title: al.Title, Priority: string(al.Priority), Exercise: al.Exercise})
	}
	sums := map[string]board.Summary{}
	for _, s := range b.States {
		sums[s.State] = s.Summary
	}
	// Centre posts first, then member states by code, posts by code.
	rows := append([]board.PostRow(nil), b.Posts...)
	sort.SliceStable(rows, func(i, j int) bool {
		a, c := rows[i].Post, rows[j].Post
		if (a.State == "") != (c.State == "") {
			return a.State == ""
		}
		if a.State != c.State {
			return a.State < c.State
		}
		return a.Code < c.Code
	})
	for _, row := range rows {
		st := row.Post.State
		if len(v.Groups) == 0 || v.Groups[len(v.Groups)-1].State != st {
			name := names[st]
			if st == "" {
				name = tr.T("dir.organisation")
			}
			v.Groups = append(v.Groups, boardGroup{State: st, Name: name, Summary: sums[st]})
		}
		t := boardTile{PostRow: row, Name: pick(p.Lang, row.Post.NameEN, row.Post.NameRU), Time: w.zoneNow(row.Post.TZ),
			Centre: row.Post.Kind == "centre"}
		t.Search = row.Post.Code + " " + row.Post.NameEN + " " + row.Post.NameRU + " " + st + " " + names[st]
		if pp := ix.get(row.Post.ID); pp != nil && pp.MinistryKind != "" {
			t.Search += " " + tr.T("ministry."+pp.MinistryKind)
		}
		for _, od := range row.OnDuty {
			t.Duty = append(t.Duty, dutyName{Name: pick(p.Lang, od.Name.EN, od.Name.RU), Slot: string(od.Slot)})
			t.Search += " " + od.Name.EN + " " + od.Name.RU
		}
		sp := scriptPost{Code: row.Post.Code, Centre: t.Centre, Cells: map[string]scriptCell{}}
		if row.LastSeenAt != nil {
			sp.LastSeen = row.LastSeenAt.UnixMilli()
		}
		for _, c := range row.Deliveries {
			if !c.Addressed {
				continue
			}
			al := byID[c.AlertID]
			t.Cells = append(t.Cells, boardCell{Cell: c, Title: al.Title, Exercise: al.Exercise, Priority: string(al.Priority)})
			if t.Latest == "" {
				t.Latest = c.AlertID
			}
			sc := scriptCell{State: c.State, Late: c.Late, Phone: c.ConfirmedByPhone}
			if c.AckedAt != nil {
				sc.Acked = c.AckedAt.UnixMilli()
			}
			sp.Cells[c.AlertID] = sc
		}
		v.Script.Posts[row.Post.ID] = sp
		v.Sums.add(t)
		g := &v.Groups[len(v.Groups)-1]
		g.Tiles = append(g.Tiles, t)
	}
	if v.Script.Alerts == nil {
		v.Script.Alerts = []scriptAlert{}
	}
	p.Data = v
	w.render(rw, r, http.StatusOK, "board", p)
}
