package demo_test

import (
	"context"
	"testing"

	"sitroom/demo"
	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
	"sitroom/internal/users"
)

func TestSeedFillsAnEmptyStoreOnceAndDemoUsersCanSignIn(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		c := clock.Real{}
		a := audit.New(d, c)
		dir := directory.New(d, c, a)
		us := users.New(d, c, a, users.Options{})
		got, err := demo.Seed(ctx, dir, us)
		if err != nil || !got.Fresh || got.Report.MemberStates.Created != 6 {
			t.Fatalf("first seed: %+v %v", got, err)
		}
		if _, _, err := us.Login(ctx, "kz.officer@demo.sitroom.example", demo.Password, "127.0.0.1", "test"); err != nil {
			t.Fatalf("demo login: %v", err)
		}
		again, err := demo.Seed(ctx, dir, us)
		if err != nil || again.Fresh {
			t.Fatalf("second seed must leave the store alone: %+v %v", again, err)
		}
	})
}
