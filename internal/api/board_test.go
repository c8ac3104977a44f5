package api_test

import (
	"testing"
	"time"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

type boardOut struct {
	At     time.Time `json:"at"`
	Alerts []struct {
		ID string `json:"id"`
	} `json:"alerts"`
	Posts []struct {
		Post struct {
			Code      string `json:"code"`
			State     string `json:"state"`
			LocalTime string `json:"local_time"`
			TZ        string `json:"tz"`
		} `json:"post"`
		OnDuty       []map[string]any `json:"on_duty"`
		NobodyOnDuty bool             `json:"nobody_on_duty"`
		Connected    bool             `json:"connected"`
		Attention    string           `json:"attention"`
		Deliveries   []struct {
			AlertID   string `json:"alert_id"`
			Addressed bool   `json:"addressed"`
			State     string `json:"state"`
		} `json:"deliveries"`
	} `json:"posts"`
	Summary struct {
		Posts     int `json:"posts"`
		Connected int `json:"connected"`
	} `json:"summary"`
}

func getBoard(t *testing.T, s *apptest.Server, token string) boardOut {
	t.Helper()
	res, body := s.Do(t, "GET", "/api/v1/board", token, nil)
	return jsonOf[boardOut](t, "board", res, body, 200)
}

func (b boardOut) connected(code string) bool {
	for _, p := range b.Posts {
		if p.Post.Code == code {
			return p.Connected
		}
	}
	return false
}

// A post officer's heartbeat makes their post connected on every board for
// 45 s; after 46 s without a beat it is disconnected. A centre officer's
// beat marks nothing, even for a post named explicitly. The move to
// connected is announced once.
func TestHeartbeatMarksThePostConnectedForFortyFiveSeconds(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			centreTok := s.Token(t, apptest.Officer, "")
			centre := openStream(t, s, centreTok, "", -1)
			if b := getBoard(t, s, centreTok); b.connected("KZ-MOD-CP") || b.Summary.Connected != 0 {
				t.Fatalf("connected before any beat: %+v", b.Summary)
			}

			// The centre's beat marks nothing.
			res, body := s.Do(t, "POST", "/api/v1/heartbeat", centreTok, map[string]any{"posts": []string{"KZ-MOD-CP"}})
			hb := jsonOf[struct {
				Posts   []struct{ Code string } `json:"posts"`
				Ignored []struct {
					Post   string `json:"post"`
					Reason string `json:"reason"`
				} `json:"ignored"`
				Position int64     `json:"position"`
				Now      time.Time `json:"server_time"`
			}](t, "centre beat", res, body, 200)
			if len(hb.Posts) != 0 || len(hb.Ignored) != 1 || hb.Ignored[0].Post != "KZ-MOD-CP" || !hb.Now.Equal(apptest.Epoch) {
				t.Fatalf("the centre's beat: %s", body)
			}
			if b := getBoard(t, s, centreTok); b.connected("KZ-MOD-CP") {
				t.Fatal("a centre officer's beat connected KZ-MOD-CP")
			}

			// The officer on duty beats (a session, as the "my duty" page).
			kz := s.Session(t, apptest.KZOfficer)
			res, body = sessionDo(t, s, kz, "POST", "/api/v1/heartbeat", nil)
			mine := jsonOf[struct {
				Posts []struct {
					Code string `json:"code"`
				} `json:"posts"`
			}](t, "officer beat", res, body, 200)
			if len(mine.Posts) != 1 || mine.Posts[0].Code != "KZ-MOD-CP" {
				t.Fatalf("the officer's beat marked %s", body)
			}
			ev := centre.next("post.status")
			if ev.field("code") != "KZ-MOD-CP" || ev.field("post_id") != postID(t, s, "KZ-MOD-CP") {
				t.Fatalf("post.status: %s", ev.Data)
			}
			b := getBoard(t, s, centreTok)
			if !b.connected("KZ-MOD-CP") || b.connected("KZ-MES-CP") || b.Summary.Connected != 1 {
				t.Fatalf("after the beat: KZ-MOD-CP %v, KZ-MES-CP %v, %d connected", b.connected("KZ-MOD-CP"), b.connected("KZ-MES-CP"), b.Summary.Connected)
			}
			// Not on duty elsewhere in Kazakhstan: naming such a post marks nothing.
			res, body = sessionDo(t, s, kz, "POST", "/api/v1/heartbeat", map[string]any{"posts": []string{"KZ-MES-CP"}})
			if res.StatusCode != 200 || getBoard(t, s, centreTok).connected("KZ-MES-CP") {
				t.Fatalf("a beat for a post the officer is not on duty at: %d %s", res.StatusCode, body)
			}

			// 30 s later another beat keeps it connected (no new event);
			// 46 s after that last beat it is disconnected.
			s.Clock.Advance(30 * time.Second)
			if res, body := sessionDo(t, s, kz, "POST", "/api/v1/heartbeat", nil); res.StatusCode != 200 {
				t.Fatalf("second beat: %d %s", res.StatusCode, body)
			}
			s.Clock.Advance(44 * time.Second)
			if !getBoard(t, s, centreTok).connected("KZ-MOD-CP") {
				t.Fatal("disconnected 44 s after a beat")
			}
			s.Clock.Advance(2 * time.Second)
			if getBoard(t, s, centreTok).connected("KZ-MOD-CP") {
				t.Fatal("still connected 46 s after the last beat")
			}
			// Connected again: announced again (and no announcement came
			// for the beat within the window: the next post.status is this).
			if res, body := sessionDo(t, s, kz, "POST", "/api/v1/heartbeat", nil); res.StatusCode != 200 {
				t.Fatalf("third beat: %d %s", res.StatusCode, body)
			}
			if ev := centre.next("post.status"); ev.field("since") != s.Clock.Now().Format(time.RFC3339) {
				t.Fatalf("the second post.status: %s (now %s)", ev.Data, s.Clock.Now().Format(time.RFC3339))
			}
		})
	}
}

// The board shows the centre every post and each post's state in the open
// alerts; a post officer sees their own posts only; other roles none.
func TestBoardShowsEachCallerTheirPosts(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	s.Live(t)
	onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
	centreTok := s.Token(t, apptest.Officer, "")
	// A new post has nobody on duty, whatever rosters the demo keeps.
	res, body := s.Do(t, "POST", "/api/v1/posts", s.Token(t, apptest.Admin, ""), map[string]any{"code": "KZ-HEALTH-CP",
		"kind": "ministry", "state": "KZ", "ministry_kind": "health", "name_en": "Command post of the Ministry of Health",
		"name_ru": "Командный пункт Министерства здравоохранения"})
	if res.StatusCode != 201 {
		t.Fatalf("new post: %d %s", res.StatusCode, body)
	}
	al := sendAlert(t, s, "Board check", 300, "KZ-MOD-CP", "KZ-HEALTH-CP")
	var b boardOut
	eventually(t, "the engine escalates the post with nobody on duty", func() bool {
		b = getBoard(t, s, centreTok)
		for _, p := range b.Posts {
			if p.Post.Code == "KZ-HEALTH-CP" {
				return p.Attention == "escalated"
			}
		}
		return false
	})
	if len(b.Alerts) != 1 || b.Alerts[0].ID != al.ID || len(b.Posts) < 15 {
		t.Fatalf("the centre's board: %d alerts, %d posts", len(b.Alerts), len(b.Posts))
	}
	seen := 0
	for _, p := range b.Posts {
		switch p.Post.Code {
		case "KZ-MOD-CP":
			seen++
			if len(p.OnDuty) == 0 || p.NobodyOnDuty || !p.Deliveries[0].Addressed || p.Deliveries[0].State != "pending" || p.Attention != "pending" {
				t.Errorf("KZ-MOD-CP: %+v", p)
			}
		case "KZ-HEALTH-CP":
			seen++
			// Nobody on duty: escalated at once.
			if !p.NobodyOnDuty || !p.Deliveries[0].Addressed || p.Deliveries[0].State != "escalated" || p.Attention != "escalated" {
				t.Errorf("KZ-HEALTH-CP: %+v", p)
			}
		case "KZ-MES-CP":
			seen++
			if p.Deliveries[0].Addressed || p.Attention != "" {
				t.Errorf("KZ-MES-CP: %+v", p)
			}
		}
		if p.Post.TZ == "" || p.Post.LocalTime == "" {
			t.Errorf("%s without its zone or local time", p.Post.Code)
		}
	}
	if seen != 3 {
		t.Fatalf("%d of the three posts on the board", seen)
	}
	kzBoard := getBoard(t, s, s.Token(t, apptest.KZOfficer, ""))
	if len(kzBoard.Posts) != 4 {
		t.Errorf("the KZ officer's board has %d posts", len(kzBoard.Posts))
	}
	for _, p := range kzBoard.Posts {
		if p.Post.State != "KZ" {
			t.Errorf("the KZ officer sees %s", p.Post.Code)
		}
	}
	headBoard := getBoard(t, s, s.Token(t, apptest.KZHead, ""))
	if len(headBoard.Posts) != 1 || headBoard.Posts[0].Post.Code != "KZ-MOD-CP" {
		t.Errorf("the head of KZ-MOD-CP sees %d posts", len(headBoard.Posts))
	}
	for _, who := range []string{apptest.Viewer, apptest.Planner, apptest.Auditor} {
		res, body := s.Do(t, "GET", "/api/v1/board", s.Token(t, who, ""), nil)
		checkProblem(t, who+"'s board", res, body, 403, "board")
	}
	res, body = s.Do(t, "GET", "/api/v1/board?alerts=51", centreTok, nil)
	checkProblem(t, "alerts=51", res, body, 400, "invalid-parameter")
}
