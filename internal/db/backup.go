package db

// Backups and restores, and the read-only snapshot they and audit
// verification read through.
//
// Two backup formats:
//
//   - SQLite stores are backed up with VACUUM INTO: a consistent, compact copy
//     of the live file, made inside one read transaction, so writers (a
//     running server) go on while it is made.
//   - PostgreSQL stores are backed up as a logical dump, read in one
//     REPEATABLE READ READ ONLY transaction: gzip'd JSON lines. The first line
//     is a header ({"format":"sitroom-dump","version":1,"schema_version":N,
//     "migrations":[…],"anchor":"SEQ:HASH",…}); then for every table, in an
//     order where a referenced table comes before the tables referring to it,
//     a line {"table":T,"columns":[{"name":…,"kind":…}…]}, one JSON array per
//     row, and {"end_table":T,"rows":N}; last a trailer {"end":true,…}, so a
//     truncated file is refused rather than half restored. Column kinds (text,
//     int, bool, time, float, bytes) are engine-neutral: times are RFC 3339 in
//     UTC, bytes base64. schema_migrations is not dumped; the header names the
//     migrations instead.
//
// Restore takes either format into either engine, but only into an empty
// database (nothing in the directory, no audit entries):
//
//   - an SQLite backup restored to an SQLite path that does not exist yet (or
//     is an empty file) is copied into place, then migrated forward;
//   - everything else is loaded row by row in one transaction: the target is
//     migrated to the backup's schema version, the rows are inserted, then
//     the remaining migrations run. An SQLite backup file is read through the
//     same dump code, so an installation can move from SQLite to PostgreSQL
//     (or back) with `sitroom backup` and `sitroom restore`.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ReadTx is a read-only snapshot: every query in it sees the database as of
// one moment, whatever writers commit meanwhile.
type ReadTx struct {
	tx *sql.Tx
	d  *DB
}

func (t *ReadTx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.Rebind(q), args...)
}
func (t *ReadTx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.Rebind(q), args...)
}
func (t *ReadTx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// ReadSnapshot runs fn in a read-only snapshot on the read pool: PostgreSQL
// REPEATABLE READ READ ONLY; SQLite a deferred read transaction, whose WAL
// snapshot is fixed at its first read. It never blocks writers.
func (d *DB) ReadSnapshot(ctx context.Context, fn func(q *ReadTx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if d.Dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := d.r.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(&ReadTx{tx: tx, d: d})
}

// SQLitePath is the file an SQLite DSN names.
func SQLitePath(dsn string) string {
	path := strings.TrimPrefix(dsn, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// Backup formats.
const (
	FormatSQLite = "sqlite" // an SQLite database file (VACUUM INTO)
	FormatDump   = "dump"   // a gzip'd JSON-lines logical dump
)

// BackupMeta is written into a backup beside the data.
type BackupMeta struct {
	// Anchor is the audit chain's SEQ:HASH, taken just before the backup.
	// (SQLite backups carry it in their audit_anchors table, where the
	// caller recorded it.)
	Anchor string
}

// BackupInfo describes a backup written.
type BackupInfo struct {
	Path   string
	Format string
	Bytes  int64
	Tables int   // logical dumps only
	Rows   int64 // logical dumps only
}

// Backup writes a consistent backup of the live store to path, which must
// not exist (a backup never overwrites a file): SQLite by VACUUM INTO,
// PostgreSQL as a logical dump.
func (d *DB) Backup(ctx context.Context, path string, meta BackupMeta) (*BackupInfo, error) {
	if path == "" {
		return nil, errors.New("no output file named")
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("%s already exists; a backup never overwrites a file", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	info := &BackupInfo{Path: path}
	if d.Dialect == SQLite {
		info.Format = FormatSQLite
		// VACUUM INTO runs in one read transaction on a reader connection:
		// a consistent snapshot, and in WAL mode writers carry on meanwhile.
		if _, err := d.r.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
			os.Remove(abs)
			return nil, err
		}
		if err := syncFile(abs); err != nil {
			return nil, err
		}
	} else {
		info.Format = FormatDump
		f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		di, err := d.Dump(ctx, f, meta)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(abs)
			return nil, err
		}
		info.Tables, info.Rows = di.Tables, di.Rows
	}
	if err := syncDir(filepath.Dir(abs)); err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, err
	}
	info.Bytes = st.Size()
	return info, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	// Some filesystems refuse to fsync a directory; the file itself is synced.
	_ = f.Sync()
	return nil
}

// Dump writes a gzip'd logical dump of the store (either engine) to w, read
// in one snapshot.
func (d *DB) Dump(ctx context.Context, w io.Writer, meta BackupMeta) (*BackupInfo, error) {
	gz := gzip.NewWriter(w)
	info, err := d.dumpRaw(ctx, gz, meta)
	if cerr := gz.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return info, nil
}

const (
	dumpFormat  = "sitroom-dump"
	dumpVersion = 1
	// migrationsTable is schema bookkeeping: not dumped, recreated by migrating.
	migrationsTable = "schema_migrations"
)

// Column kinds in a dump: how a value is written in JSON.
const (
	kindText  = "text"
	kindInt   = "int"
	kindBool  = "bool"
	kindTime  = "time"
	kindFloat = "float"
	kindBytes = "bytes"
)

type dumpHeader struct {
	Format        string `json:"format"`
	Version       int    `json:"version"`
	Engine        string `json:"engine"`
	CreatedAt     string `json:"created_at"`
	SchemaVersion int    `json:"schema_version"`
	Migrations    []int  `json:"migrations"`
	Anchor        string `json:"anchor,omitempty"`
}

type dumpColumn struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

// dumpLine is any object line after the header; which fields are set says
// what it is.
type dumpLine struct {
	Table    string       `json:"table,omitempty"`
	Columns  []dumpColumn `json:"columns,omitempty"`
	EndTable string       `json:"end_table,omitempty"`
	End      bool         `json:"end,omitempty"`
	Tables   int          `json:"tables,omitempty"`
	Rows     *int64       `json:"rows,omitempty"`
}

func (d *DB) dumpRaw(ctx context.Context, w io.Writer, meta BackupMeta) (*BackupInfo, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	info := &BackupInfo{Format: FormatDump}
	writeLine := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b = append(b, '\n')
		_, err = bw.Write(b)
		return err
	}
	err := d.ReadSnapshot(ctx, func(q *ReadTx) error {
		schema, err := d.schemaInfo(ctx, q)
		if err != nil {
			return err
		}
		order, err := tableOrder(schema)
		if err != nil {
			return err
		}
		versions, err := appliedVersions(ctx, q)
		if err != nil {
			return err
		}
		h := dumpHeader{Format: dumpFormat, Version: dumpVersion, Engine: string(d.Dialect),
			CreatedAt: time.Now().UTC().Format(time.RFC3339Nano), Migrations: versions, Anchor: meta.Anchor}
		if len(versions) > 0 {
			h.SchemaVersion = versions[len(versions)-1]
		}
		if err := writeLine(h); err != nil {
			return err
		}
		for _, name := range order {
			t := schema[name]
			cols := make([]dumpColumn, len(t.Columns))
			names := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				cols[i], names[i] = c, quoteIdent(c.Name)
			}
			if err := writeLine(dumpLine{Table: name, Columns: cols}); err != nil {
				return err
			}
			orderBy := t.PK
			if len(orderBy) == 0 {
				orderBy = make([]string, len(t.Columns))
				for i, c := range t.Columns {
					orderBy[i] = c.Name
				}
			}
			for i := range orderBy {
				orderBy[i] = quoteIdent(orderBy[i])
			}
			rows, err := q.Query(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+quoteIdent(name)+" ORDER BY "+strings.Join(orderBy, ", "))
			if err != nil {
				return fmt.Errorf("dump %s: %w", name, err)
			}
			var n int64
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			out := make([]any, len(cols))
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return fmt.Errorf("dump %s: %w", name, err)
				}
				for i, c := range cols {
					if out[i], err = encodeValue(c.Kind, vals[i]); err != nil {
						rows.Close()
						return fmt.Errorf("dump %s.%s: %w", name, c.Name, err)
					}
				}
				if err := writeLine(out); err != nil {
					rows.Close()
					return err
				}
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("dump %s: %w", name, err)
			}
			if err := writeLine(dumpLine{EndTable: name, Rows: &n}); err != nil {
				return err
			}
			info.Tables++
			info.Rows += n
		}
		total := info.Rows
		return writeLine(dumpLine{End: true, Tables: info.Tables, Rows: &total})
	})
	if err != nil {
		return nil, fmt.Errorf("dump: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	return info, nil
}

var sqliteTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
}

func parseTimeText(s string) (time.Time, error) {
	for _, l := range sqliteTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time: %q", s)
}

// encodeValue turns a scanned value into its JSON form for kind.
func encodeValue(kind string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case string:
			t, err := parseTimeText(x)
			if err != nil {
				return nil, err
			}
			return t.UTC().Format(time.RFC3339Nano), nil
		case []byte:
			t, err := parseTimeText(string(x))
			if err != nil {
				return nil, err
			}
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	case kindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case kindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case kindFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return base64.StdEncoding.EncodeToString(x), nil
		case string:
			return base64.StdEncoding.EncodeToString([]byte(x)), nil
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	}
	return nil, fmt.Errorf("cannot write %T as %s", v, kind)
}

// decodeValue turns a dumped JSON value back into an argument for kind.
func decodeValue(kind string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case kindText:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case kindInt:
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
	case kindFloat:
		if n, ok := v.(json.Number); ok {
			return n.Float64()
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindTime:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, err
			}
			return t.UTC(), nil
		}
	case kindBytes:
		if s, ok := v.(string); ok {
			return base64.StdEncoding.DecodeString(s)
		}
	default:
		return nil, fmt.Errorf("unknown column kind %q", kind)
	}
	return nil, fmt.Errorf("a %s value cannot be %T", kind, v)
}

// tableInfo is what backup and restore need to know of a table.
type tableInfo struct {
	Name    string
	Columns []dumpColumn
	PK      []string
	Refs    map[string]string // column → referenced table
}

func (t *tableInfo) column(name string) (dumpColumn, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return dumpColumn{}, false
}

// Tables lists the store's tables (in the current schema on PostgreSQL).
func (d *DB) Tables(ctx context.Context) ([]string, error) { return d.tables(ctx, d) }

func (d *DB) tables(ctx context.Context, q Querier) ([]string, error) {
	query := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`
	if d.Dialect == Postgres {
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// quoteIdent quotes a table or column name read from the catalogue. Names
// in sitroom's schema are plain; the check keeps a crafted dump from ever
// smuggling SQL in a name.
func quoteIdent(s string) string {
	if !identRE.MatchString(s) {
		panic("db: unexpected identifier " + strconv.Quote(s))
	}
	return `"` + s + `"`
}

// schemaInfo reads every table's columns, primary key and foreign keys,
// except schema_migrations.
func (d *DB) schemaInfo(ctx context.Context, q Querier) (map[string]*tableInfo, error) {
	names, err := d.tables(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string]*tableInfo{}
	for _, n := range names {
		if n == migrationsTable {
			continue
		}
		if !identRE.MatchString(n) {
			return nil, fmt.Errorf("table %q: name not supported by backups", n)
		}
		out[n] = &tableInfo{Name: n, Refs: map[string]string{}}
	}
	if d.Dialect == SQLite {
		for n, t := range out {
			rows, err := q.Query(ctx, "SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", n)
			if err != nil {
				return nil, err
			}
			pk := map[int]string{}
			for rows.Next() {
				var c, typ string
				var k int
				if err := rows.Scan(&c, &typ, &k); err != nil {
					rows.Close()
					return nil, err
				}
				t.Columns = append(t.Columns, dumpColumn{Name: c, Kind: sqliteKind(typ)})
				if k > 0 {
					pk[k] = c
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			for i := 1; i <= len(pk); i++ {
				t.PK = append(t.PK, pk[i])
			}
			rows, err = q.Query(ctx, `SELECT "table", "from" FROM pragma_foreign_key_list(?)`, n)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var ref, col string
				if err := rows.Scan(&ref, &col); err != nil {
					rows.Close()
					return nil, err
				}
				t.Refs[col] = ref
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	} else {
		rows, err := q.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var tn, c, typ string
			if err := rows.Scan(&tn, &c, &typ); err != nil {
				rows.Close()
				return nil, err
			}
			if t := out[tn]; t != nil {
				t.Columns = append(t.Columns, dumpColumn{Name: c, Kind: postgresKind(typ)})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		rows, err = q.Query(ctx, `SELECT cl.relname, a.attname, c.contype, COALESCE(rf.relname, '')
			FROM pg_constraint c
			JOIN pg_class cl ON cl.oid = c.conrelid
			JOIN pg_namespace n ON n.oid = cl.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			LEFT JOIN pg_class rf ON rf.oid = c.confrelid
			WHERE c.contype IN ('p', 'f') AND n.nspname = current_schema()
			ORDER BY cl.relname, c.conname, array_position(c.conkey, a.attnum)`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var tn, col, typ, ref string
			if err := rows.Scan(&tn, &col, &typ, &ref); err != nil {
				rows.Close()
				return nil, err
			}
			t := out[tn]
			if t == nil {
				continue
			}
			if typ == "p" {
				t.PK = append(t.PK, col)
			} else {
				t.Refs[col] = ref
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for _, t := range out {
		for _, c := range t.Columns {
			if !identRE.MatchString(c.Name) {
				return nil, fmt.Errorf("column %s.%q: name not supported by backups", t.Name, c.Name)
			}
		}
	}
	return out, nil
}

// sqliteKind maps a declared SQLite column type to a dump kind, following
// SQLite's own affinity rules where sitroom's schema does not decide.
func sqliteKind(decl string) string {
	t := strings.ToUpper(strings.TrimSpace(decl))
	switch {
	case t == "BOOLEAN" || t == "BOOL":
		return kindBool
	case t == "TIMESTAMP" || t == "DATETIME" || t == "DATE":
		return kindTime
	case strings.Contains(t, "INT"):
		return kindInt
	case strings.Contains(t, "CHAR") || strings.Contains(t, "CLOB") || strings.Contains(t, "TEXT"):
		return kindText
	case strings.Contains(t, "REAL") || strings.Contains(t, "FLOA") || strings.Contains(t, "DOUB"):
		return kindFloat
	case t == "" || strings.Contains(t, "BLOB"):
		return kindBytes
	}
	return kindText
}

func postgresKind(typ string) string {
	switch typ {
	case "boolean":
		return kindBool
	case "smallint", "integer", "bigint":
		return kindInt
	case "timestamp with time zone", "timestamp without time zone":
		return kindTime
	case "real", "double precision":
		return kindFloat
	case "bytea":
		return kindBytes
	}
	return kindText
}

// tableOrder sorts tables so every table comes after the tables it refers
// to (a table's references to itself aside), ties by name, so rows can be
// loaded in that order with foreign keys checked as they go.
func tableOrder(schema map[string]*tableInfo) ([]string, error) {
	deps := map[string]map[string]bool{}
	for n, t := range schema {
		deps[n] = map[string]bool{}
		for _, ref := range t.Refs {
			if ref != n && schema[ref] != nil {
				deps[n][ref] = true
			}
		}
	}
	var order []string
	for len(deps) > 0 {
		var ready []string
		for n, ds := range deps {
			if len(ds) == 0 {
				ready = append(ready, n)
			}
		}
		if len(ready) == 0 {
			var rest []string
			for n := range deps {
				rest = append(rest, n)
			}
			sort.Strings(rest)
			return nil, fmt.Errorf("tables %s refer to each other in a cycle; backups cannot order them", strings.Join(rest, ", "))
		}
		sort.Strings(ready)
		for _, n := range ready {
			delete(deps, n)
			for _, ds := range deps {
				delete(ds, n)
			}
		}
		order = append(order, ready...)
	}
	return order, nil
}

// appliedVersions lists the migrations recorded in the store, in order.
func appliedVersions(ctx context.Context, q Querier) ([]int, error) {
	rows, err := q.Query(ctx, "SELECT version FROM "+migrationsTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("read %s (is this a sitroom database?): %w", migrationsTable, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RestoreInfo describes a restore done.
type RestoreInfo struct {
	Method        string // "copy" (SQLite file put in place) or "load" (rows inserted)
	Source        string // FormatSQLite or FormatDump
	SchemaVersion int    // the backup's schema version (the target is then migrated forward)
	Tables        int    // "load" only
	Rows          int64  // "load" only
	Anchor        string // the anchor in a dump's header ("" for SQLite files: see audit_anchors)
}

// Restore restores the backup at path into the store named by dsn, which
// must be empty: no directory records, users or audit entries (see
// guardTables). Either backup format goes into either engine; see the top of
// this file.
func Restore(ctx context.Context, dsn, path string) (*RestoreInfo, error) {
	format, err := sniffBackup(path)
	if err != nil {
		return nil, err
	}
	if format == FormatSQLite && !IsPostgresDSN(dsn) {
		target := SQLitePath(dsn)
		free, err := sqliteTargetFree(target)
		if err != nil {
			return nil, err
		}
		if free {
			return restoreSQLiteCopy(ctx, path, target)
		}
	}
	var src io.Reader
	switch format {
	case FormatDump:
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		src = gz
	case FormatSQLite:
		s, err := openSQLiteBackup(ctx, path)
		if err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, err := s.dumpRaw(ctx, pw, BackupMeta{})
			pw.CloseWithError(err)
		}()
		defer func() {
			pr.Close() // unblocks the dump if the load stopped early
			<-done
			s.Close()
		}()
		src = pr
	}
	d, err := Open(ctx, dsn, Options{MaxConns: 2})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	info, err := d.load(ctx, src)
	if err != nil {
		return nil, err
	}
	info.Source = format
	return info, nil
}

// sniffBackup tells the format of a backup file by its first bytes.
func sniffBackup(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case bytes.Equal(head, []byte("SQLite format 3\x00")):
		return FormatSQLite, nil
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return FormatDump, nil
	}
	return "", fmt.Errorf("%s is not a sitroom backup (neither an SQLite database nor a gzip'd dump)", path)
}

// sqliteTargetFree tells whether an SQLite backup can simply be copied to
// target: nothing is there yet (or an empty file). A stale -wal beside it
// would be replayed into the restored file, so it is refused.
func sqliteTargetFree(target string) (bool, error) {
	if target == "" {
		return false, errors.New("empty database path")
	}
	st, err := os.Stat(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return false, err
	case st.IsDir():
		return false, fmt.Errorf("%s is a directory", target)
	case st.Size() > 0:
		return false, nil
	}
	for _, sfx := range []string{"-wal", "-shm", "-journal"} {
		if _, err := os.Stat(target + sfx); err == nil {
			return false, fmt.Errorf("%s%s exists beside the target; remove it (no database is at %s)", target, sfx, target)
		}
	}
	return true, nil
}

// openSQLiteBackup opens an SQLite backup file read-only, after checking it
// is intact.
func openSQLiteBackup(ctx context.Context, path string) (*DB, error) {
	r, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)&_time_format=sqlite")
	if err != nil {
		return nil, err
	}
	r.SetMaxOpenConns(1)
	s := &DB{Dialect: SQLite, DSN: path, w: r, r: r}
	var res string
	if err := r.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&res); err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if res != "ok" {
		r.Close()
		return nil, fmt.Errorf("%s is damaged: %s", path, res)
	}
	return s, nil
}

func restoreSQLiteCopy(ctx context.Context, src, target string) (*RestoreInfo, error) {
	s, err := openSQLiteBackup(ctx, src)
	if err != nil {
		return nil, err
	}
	versions, err := appliedVersions(ctx, s)
	s.Close()
	if err != nil {
		return nil, err
	}
	info := &RestoreInfo{Method: "copy", Source: FormatSQLite}
	if len(versions) > 0 {
		info.SchemaVersion = versions[len(versions)-1]
	}
	if err := (&DB{Dialect: SQLite}).checkVersions(versions); err != nil {
		return nil, err
	}
	tmp := target + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, target); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := syncDir(filepath.Dir(target)); err != nil {
		return nil, err
	}
	d, err := Open(ctx, target, Options{MaxConns: 1})
	if err != nil {
		return nil, fmt.Errorf("open restored file: %w", err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate restored file: %w", err)
	}
	return info, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkVersions accepts a backup's migrations if this binary knows them all
// and they are the first ones it knows, in order: the backup's schema is one
// this binary can migrate forward from.
func (d *DB) checkVersions(versions []int) error {
	known, err := d.Migrations()
	if err != nil {
		return err
	}
	for i, v := range versions {
		if i >= len(known) {
			return fmt.Errorf("the backup comes from a newer sitroom (migration %d is unknown to this binary)", v)
		}
		if known[i].Version != v {
			return fmt.Errorf("the backup's migrations (%v) are not this binary's (migration %d expected, %d found)", versions, known[i].Version, v)
		}
	}
	return nil
}

// guardTables must hold no rows for a restore to go ahead: the directory
// every other record hangs from, and the audit log (every change a user makes
// is audited, so an empty log means nothing was ever done here). Other tables
// may hold what migrations seed (chain and outbox heads) or what a server
// started once on the empty store writes (settings, an anchor of the empty
// chain); the restore replaces those rows with the backup's.
var guardTables = []string{"audit_log", "member_states", "bodies", "people", "posts", "users"}

// checkEmpty refuses a target holding anything a restore would overwrite.
func (d *DB) checkEmpty(ctx context.Context, q Querier) error {
	names, err := d.tables(ctx, q)
	if err != nil {
		return err
	}
	var full []string
	for _, n := range names {
		cond := ""
		switch {
		case n == "audit_head" || n == "audit_anchors":
			cond = " WHERE seq <> 0"
		case !slices.Contains(guardTables, n):
			continue
		}
		var one int
		err := q.QueryRow(ctx, "SELECT 1 FROM "+quoteIdent(n)+cond+" LIMIT 1").Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		full = append(full, n)
	}
	if len(full) > 0 {
		return fmt.Errorf("the target database is not empty (%s hold data); restore only into a new SQLite file or an empty PostgreSQL schema", strings.Join(full, ", "))
	}
	return nil
}

// currentVersion is the highest migration applied to d (0 for a new store).
func (d *DB) currentVersion(ctx context.Context) (int, error) {
	names, err := d.Tables(ctx)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(names, migrationsTable) {
		return 0, nil
	}
	var v int
	err = d.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+migrationsTable).Scan(&v)
	return v, err
}

// migrateTo applies the embedded migrations up to version upto, as Migrate
// does for all of them, so rows from an older backup go into the schema they
// were written for before the later migrations transform them.
func (d *DB) migrateTo(ctx context.Context, upto int) error {
	ms, err := d.Migrations()
	if err != nil {
		return err
	}
	return d.RunInTx(ctx, func(tx *Tx) error {
		if d.Dialect == Postgres {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7301001)"); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		done, err := appliedVersions(ctx, tx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Version > upto || slices.Contains(done, m.Version) {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return nil
	})
}

// readLine returns the next line without its newline; a last line without
// one is a truncated file.
func readLine(r *bufio.Reader) ([]byte, error) {
	b, err := r.ReadBytes('\n')
	if err == io.EOF && len(b) > 0 {
		return nil, errors.New("the backup is truncated (a line is cut short)")
	}
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

// load restores a raw (un-gzipped) dump into d, in one transaction.
func (d *DB) load(ctx context.Context, r io.Reader) (*RestoreInfo, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	line, err := readLine(br)
	if err != nil {
		if err == io.EOF {
			return nil, errors.New("the backup is empty")
		}
		return nil, err
	}
	var h dumpHeader
	if err := json.Unmarshal(line, &h); err != nil || h.Format != dumpFormat {
		return nil, errors.New("not a sitroom dump (bad header line)")
	}
	if h.Version != dumpVersion {
		return nil, fmt.Errorf("dump format version %d is not supported (this binary reads %d)", h.Version, dumpVersion)
	}
	if err := d.checkVersions(h.Migrations); err != nil {
		return nil, err
	}
	info := &RestoreInfo{Method: "load", SchemaVersion: h.SchemaVersion, Anchor: h.Anchor}
	if d.Dialect == Postgres {
		var schema sql.NullString
		if err := d.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return nil, err
		}
		if !schema.Valid {
			return nil, errors.New("no schema of the URL's search_path exists on the server; create it first (CREATE SCHEMA …)")
		}
	}
	cur, err := d.currentVersion(ctx)
	if err != nil {
		return nil, err
	}
	if cur > h.SchemaVersion {
		return nil, fmt.Errorf("the target database is at schema version %d, newer than the backup's %d; restore into a new SQLite file or an empty PostgreSQL schema", cur, h.SchemaVersion)
	}
	// Refuse before migrating, so a wrong target is left as it was.
	if err := d.checkEmpty(ctx, d); err != nil {
		return nil, err
	}
	if err := d.migrateTo(ctx, h.SchemaVersion); err != nil {
		return nil, err
	}
	// Not RunInTx: the dump is a stream and cannot be replayed on a retry.
	tx, err := d.begin(ctx)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.tx.Rollback()
		}
	}()
	if err := d.checkEmpty(ctx, tx); err != nil {
		return nil, err
	}
	schema, err := d.schemaInfo(ctx, tx)
	if err != nil {
		return nil, err
	}
	order, err := tableOrder(schema)
	if err != nil {
		return nil, err
	}
	// Clear what the migrations seeded (chain and outbox heads) and what
	// checkEmpty let pass; the dump holds the source's versions of them.
	for i := len(order) - 1; i >= 0; i-- {
		if _, err := tx.Exec(ctx, "DELETE FROM "+quoteIdent(order[i])); err != nil {
			return nil, err
		}
	}
	var (
		tl     *tableLoad
		seen   = map[string]bool{}
		ended  bool
		lineNo = 1
	)
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		lineNo++
		if ended {
			return nil, fmt.Errorf("line %d: data after the end marker", lineNo)
		}
		if len(line) > 0 && line[0] == '[' {
			if tl == nil {
				return nil, fmt.Errorf("line %d: a row outside any table", lineNo)
			}
			dec := json.NewDecoder(bytes.NewReader(line))
			dec.UseNumber()
			var vals []any
			if err := dec.Decode(&vals); err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			if err := tl.add(ctx, tx, vals); err != nil {
				return nil, fmt.Errorf("line %d (%s): %w", lineNo, tl.t.Name, err)
			}
			continue
		}
		var l dumpLine
		if err := json.Unmarshal(line, &l); err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		switch {
		case l.Table != "":
			if tl != nil {
				return nil, fmt.Errorf("line %d: table %s starts before %s ends", lineNo, l.Table, tl.t.Name)
			}
			t := schema[l.Table]
			if t == nil {
				return nil, fmt.Errorf("line %d: table %s does not exist in schema version %d", lineNo, l.Table, h.SchemaVersion)
			}
			if seen[l.Table] {
				return nil, fmt.Errorf("line %d: table %s appears twice", lineNo, l.Table)
			}
			seen[l.Table] = true
			tl, err = newTableLoad(t, l.Columns)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
		case l.EndTable != "":
			if tl == nil || tl.t.Name != l.EndTable {
				return nil, fmt.Errorf("line %d: end of table %s that did not start", lineNo, l.EndTable)
			}
			if err := tl.finish(ctx, tx); err != nil {
				return nil, fmt.Errorf("table %s: %w", l.EndTable, err)
			}
			if l.Rows == nil || *l.Rows != tl.n {
				return nil, fmt.Errorf("table %s: %d rows read, but the dump says %v", l.EndTable, tl.n, l.Rows)
			}
			info.Tables++
			info.Rows += tl.n
			tl = nil
		case l.End:
			if tl != nil {
				return nil, fmt.Errorf("line %d: end marker inside table %s", lineNo, tl.t.Name)
			}
			if l.Tables != info.Tables || l.Rows == nil || *l.Rows != info.Rows {
				return nil, fmt.Errorf("the end marker counts do not match what was read")
			}
			ended = true
		default:
			return nil, fmt.Errorf("line %d: not a dump line", lineNo)
		}
	}
	if !ended {
		return nil, errors.New("the backup is truncated (no end marker)")
	}
	if d.Dialect == Postgres {
		if err := resetSequences(ctx, tx); err != nil {
			return nil, err
		}
	}
	if err := tx.tx.Commit(); err != nil {
		return nil, err
	}
	committed = true
	if _, err := d.Migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate after restore: %w", err)
	}
	return info, nil
}

// tableLoad inserts one table's rows in multi-row batches. A column that
// refers to its own table (a body's parent) is inserted NULL and set once
// all the table's rows are in, so row order never trips the foreign key.
type tableLoad struct {
	t       *tableInfo
	cols    []dumpColumn
	selfRef []int // dump column indexes referring to the table itself
	pk      []int // dump column indexes of the primary key
	batch   []any
	inBatch int
	perStmt int
	patches [][]any // per row: self-ref values…, pk values…
	n       int64
}

func newTableLoad(t *tableInfo, cols []dumpColumn) (*tableLoad, error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("table %s: no columns", t.Name)
	}
	l := &tableLoad{t: t, cols: cols}
	seen := map[string]bool{}
	for i, c := range cols {
		if _, ok := t.column(c.Name); !ok {
			return nil, fmt.Errorf("table %s has no column %s", t.Name, c.Name)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("table %s: column %s twice", t.Name, c.Name)
		}
		seen[c.Name] = true
		if t.Refs[c.Name] == t.Name {
			l.selfRef = append(l.selfRef, i)
		}
	}
	if len(l.selfRef) > 0 {
		for _, k := range t.PK {
			i := slices.IndexFunc(cols, func(c dumpColumn) bool { return c.Name == k })
			if i < 0 {
				return nil, fmt.Errorf("table %s: primary key column %s missing from the dump", t.Name, k)
			}
			l.pk = append(l.pk, i)
		}
		if len(l.pk) == 0 {
			return nil, fmt.Errorf("table %s refers to itself but has no primary key", t.Name)
		}
	}
	// Stay well under SQLite's and PostgreSQL's limits on bound parameters.
	l.perStmt = max(1, min(100, 900/len(cols)))
	return l, nil
}

func (l *tableLoad) add(ctx context.Context, tx *Tx, vals []any) error {
	if len(vals) != len(l.cols) {
		return fmt.Errorf("%d values for %d columns", len(vals), len(l.cols))
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		a, err := decodeValue(l.cols[i].Kind, v)
		if err != nil {
			return fmt.Errorf("column %s: %w", l.cols[i].Name, err)
		}
		args[i] = a
	}
	if len(l.selfRef) > 0 {
		var p []any
		set := false
		for _, i := range l.selfRef {
			p = append(p, args[i])
			set = set || args[i] != nil
			args[i] = nil
		}
		if set {
			for _, i := range l.pk {
				p = append(p, args[i])
			}
			l.patches = append(l.patches, p)
		}
	}
	l.batch = append(l.batch, args...)
	l.inBatch++
	l.n++
	if l.inBatch >= l.perStmt {
		return l.flush(ctx, tx)
	}
	return nil
}

func (l *tableLoad) flush(ctx context.Context, tx *Tx) error {
	if l.inBatch == 0 {
		return nil
	}
	names := make([]string, len(l.cols))
	for i, c := range l.cols {
		names[i] = quoteIdent(c.Name)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(l.cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + quoteIdent(l.t.Name) + " (" + strings.Join(names, ", ") + ") VALUES ")
	for i := 0; i < l.inBatch; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	if _, err := tx.Exec(ctx, b.String(), l.batch...); err != nil {
		return err
	}
	l.batch, l.inBatch = l.batch[:0], 0
	return nil
}

func (l *tableLoad) finish(ctx context.Context, tx *Tx) error {
	if err := l.flush(ctx, tx); err != nil {
		return err
	}
	if len(l.patches) == 0 {
		return nil
	}
	var set, where []string
	for _, i := range l.selfRef {
		set = append(set, quoteIdent(l.cols[i].Name)+" = ?")
	}
	for _, i := range l.pk {
		where = append(where, quoteIdent(l.cols[i].Name)+" = ?")
	}
	q := "UPDATE " + quoteIdent(l.t.Name) + " SET " + strings.Join(set, ", ") + " WHERE " + strings.Join(where, " AND ")
	for _, p := range l.patches {
		if _, err := tx.Exec(ctx, q, p...); err != nil {
			return err
		}
	}
	return nil
}

// resetSequences moves PostgreSQL's identity and serial sequences past the
// ids just loaded, so the next insert does not collide with a restored row.
// (SQLite's AUTOINCREMENT tracks explicitly inserted ids by itself.)
func resetSequences(ctx context.Context, tx *Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return err
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, tc := range cols {
		t, c := quoteIdent(tc[0]), quoteIdent(tc[1])
		if _, err := tx.Exec(ctx, "SELECT setval(pg_get_serial_sequence(?, ?), COALESCE(MAX("+c+"), 1), MAX("+c+") IS NOT NULL) FROM "+t, t, tc[1]); err != nil {
			return fmt.Errorf("reset sequence of %s.%s: %w", tc[0], tc[1], err)
		}
	}
	return nil
}
