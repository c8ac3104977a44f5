package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestGroupCommitIsolatesFailuresAndAnswersAfterCommit(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := d.NewGroup(32)
		go g.Run(ctx)
		var wg sync.WaitGroup
		var hooks atomic.Int64
		errs := make([]error, 200)
		for i := 0; i < 200; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = g.Do(ctx, func(tx *db.Tx) error {
					if _, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", fmt.Sprintf("k%d", i), "v"); err != nil {
						return err
					}
					tx.AfterCommit(func() { hooks.Add(1) })
					if i%10 == 0 {
						return errors.New("refused") // its insert must be rolled back alone
					}
					return nil
				})
				if errs[i] == nil {
					// Answered only after commit: the row is visible.
					var n int
					if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM settings WHERE key = ?", fmt.Sprintf("k%d", i)).Scan(&n); err != nil || n != 1 {
						t.Errorf("k%d not visible after its answer: n=%d err=%v", i, n, err)
					}
				}
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if (i%10 == 0) != (err != nil) {
				t.Fatalf("caller %d: err %v", i, err)
			}
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM settings WHERE key LIKE 'k%'").Scan(&n); err != nil || n != 180 {
			t.Fatalf("rows %d err %v, want 180", n, err)
		}
		if hooks.Load() != 180 {
			t.Fatalf("after-commit hooks ran %d times, want 180", hooks.Load())
		}
		// A database error of one caller (duplicate key) does not sink the others.
		e1 := g.Do(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES ('k1', 'dup')")
			return err
		})
		if !db.IsUniqueViolation(e1) {
			t.Fatalf("duplicate: %v", e1)
		}
	})
}
