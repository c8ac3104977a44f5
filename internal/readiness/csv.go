package readiness

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"rank", "code", "name", "name_ru", "state", "sent_at", "acked_at", "seconds",
	"late", "after_escalation", "phone", "missed", "cancelled"}

// bom makes spreadsheet programs (Excel above all) read the file as UTF-8,
// so Cyrillic names survive a double-click; CSV readers that do not expect
// it see it at the start of the first header cell.
const bom = "\ufeff"

// WriteCSV writes a report as CSV: RFC 4180 (encoding/csv, CRLF line ends),
// UTF-8 with a byte-order mark, a header row, then one row per post of the
// report (in rank order). Instants are RFC 3339 UTC. seconds is the whole
// number of seconds from the check's send time to the acknowledgement,
// filled for every acknowledgement (a late one too: then late and missed
// are true) and empty for a post that never acknowledged. Booleans are
// true/false. name is English, name_ru Russian; rank is empty for a
// delivery cancelled with its alert. Text cells that a spreadsheet would
// run as a formula (=, +, -, @ first) are prefixed with an apostrophe.
func WriteCSV(w io.Writer, r *Report) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, row := range r.Rows {
		rank, secs := "", ""
		if row.Rank > 0 {
			rank = strconv.Itoa(row.Rank)
		}
		if sec, ok := row.Elapsed.Seconds(); ok {
			secs = strconv.FormatInt(sec, 10)
		}
		sent := row.SentAt
		rec := []string{rank, cell(row.Code), cell(row.NameEN), cell(row.NameRU), cell(row.State), ts(&sent), ts(row.AckedAt), secs,
			strconv.FormatBool(row.Late), strconv.FormatBool(row.AfterEscalation), strconv.FormatBool(row.Phone),
			strconv.FormatBool(row.Missed), strconv.FormatBool(row.Cancelled)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell defuses spreadsheet formula injection in a text cell.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
