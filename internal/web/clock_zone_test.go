package web_test

import (
	"io"
	"strings"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/db"
)

// The header clock shows a post officer's own zone without any setting, and
// the organisation's zone to the centre.
func TestHeaderClockIsInTheViewersWorkZone(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	for login, zone := range map[string]string{
		"kz.officer@demo.sitroom.example":  `data-zone="Asia/Almaty"`,
		"by.officer@demo.sitroom.example":  `data-zone="Europe/Minsk"`,
		"officer@demo.sitroom.example":     `data-zone="Europe/Moscow"`,
		"kg-mod-cp.1@demo.sitroom.example": `data-zone="Asia/Bishkek"`,
	} {
		c := s.Session(t, login)
		res, err := c.Get(s.URL + "/profile")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), zone) {
			t.Errorf("%s: header clock lacks %s", login, zone)
		}
	}
}
