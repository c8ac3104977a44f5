package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of ds,
// which it sorts in place; 0 for none.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	rank := int(math.Ceil(p / 100 * float64(len(ds))))
	rank = min(max(rank, 1), len(ds))
	return ds[rank-1]
}

// ms turns a duration into milliseconds with three decimals, for JSON.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// Durability tells whether settings (from db.Settings) make every commit
// durable, and if not, why not. SQLite needs synchronous FULL or EXTRA (in
// WAL mode NORMAL does not sync at commit); PostgreSQL needs fsync on and
// synchronous_commit not off.
func Durability(settings map[string]string) (ok bool, why string) {
	switch settings["engine"] {
	case "sqlite":
		switch s := strings.ToUpper(settings["synchronous"]); s {
		case "FULL", "EXTRA":
			return true, ""
		case "":
			return false, "SQLite synchronous is unknown"
		default:
			return false, "SQLite synchronous=" + s + " (a commit is not on disk when answered)"
		}
	case "postgres":
		var bad []string
		if f := settings["fsync"]; f != "on" {
			bad = append(bad, "fsync="+orUnknown(f))
		}
		if s := settings["synchronous_commit"]; s == "off" || s == "" {
			bad = append(bad, "synchronous_commit="+orUnknown(s))
		}
		if len(bad) > 0 {
			return false, "PostgreSQL " + strings.Join(bad, ", ")
		}
		return true, ""
	}
	return false, "the durability settings could not be read"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Warning is the loud text printed when a figure does not count.
func Warning(why string) string {
	line := strings.Repeat("!", 78)
	return fmt.Sprintf("%s\n!!! WARNING: DURABILITY IS OFF OR UNKNOWN: %s.\n!!! These figures DO NOT COUNT: commits were answered before they were safe.\n%s", line, why, line)
}
