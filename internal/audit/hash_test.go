package audit

import (
	"database/sql"
	"testing"
	"time"
)

// Moving text from one field to the next, or telling NULL from "", must
// always change the encoding: otherwise a forger could rewrite who did what
// and keep the hash.
func TestCanonicalEncodingTellsEveryFieldApart(t *testing.T) {
	at := time.Date(2024, 3, 1, 9, 0, 0, 123456000, time.UTC)
	base := chained{Seq: 7, PrevHash: "p", At: at, Actor: "user:ab", IP: "", Action: "post.update",
		ObjectType: "post", ObjectID: "1", Summary: "s", Before: "{}", After: "{}"}
	variants := map[string]func(c *chained){
		"actor/ip split":          func(c *chained) { c.Actor, c.IP = "user:a", "b" },
		"type/id split":           func(c *chained) { c.ObjectType, c.ObjectID = "pos", "t1" },
		"before/after split":      func(c *chained) { c.Before, c.After = "{}{", "}" },
		"user id empty, not null": func(c *chained) { c.ActorUserID = sql.NullString{Valid: true} },
		"user id set":             func(c *chained) { c.ActorUserID = sql.NullString{String: "u", Valid: true} },
		"seq":                     func(c *chained) { c.Seq = 8 },
		"prev":                    func(c *chained) { c.PrevHash = "q" },
		"microsecond":             func(c *chained) { c.At = at.Add(time.Microsecond) },
		"summary":                 func(c *chained) { c.Summary = "S" },
		"action":                  func(c *chained) { c.Action = "post.updatE" },
	}
	seen := map[string]string{base.hash(): "base"}
	for name, change := range variants {
		c := base
		change(&c)
		h := c.hash()
		if other, dup := seen[h]; dup {
			t.Errorf("%s hashes like %s", name, other)
		}
		seen[h] = name
	}
}

// The hash must not depend on the zone or sub-microsecond noise of the time
// value read back, which differ between engines and drivers.
func TestHashIgnoresZoneAndNanoseconds(t *testing.T) {
	at := time.Date(2024, 3, 1, 9, 0, 0, 123456000, time.UTC)
	a := chained{Seq: 1, At: at, Actor: "system:x", Action: "a"}
	b := a
	b.At = at.In(time.FixedZone("ALMT", 5*3600)).Add(789 * time.Nanosecond)
	if a.hash() != b.hash() {
		t.Fatal("same instant, different hash")
	}
}
