package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"sitroom/internal/apperr"
)

// The import file is one document in either syntax, YAML or JSON, with the
// same field names in both: those of the yaml struct tags (e.g. a position's
// "start", not the API's "start_date"; no ids, no timestamps). A JSON file
// is therefore the YAML file written in JSON, and either converts to the
// other one to one.

// MaxFileSize bounds what ParseFile reads.
const MaxFileSize = 64 << 20

// fileSource is where a parsed File came from.
type fileSource struct {
	name  string
	lines map[string]int // "posts[3].tz" → line
}

// Name is the name the file was parsed under ("" for a File built in code).
func (f *File) Name() string {
	if f.src == nil {
		return ""
	}
	return f.src.name
}

// line returns the line of path, or of the nearest enclosing element.
func (f *File) line(path string) int {
	if f.src == nil {
		return 0
	}
	for path != "" {
		if n, ok := f.src.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Problem is one thing wrong in an import file.
type Problem struct {
	Line    int    `json:"line,omitempty"`
	Path    string `json:"path,omitempty"` // e.g. posts[3].tz
	Code    string `json:"code"`           // a field error code, or syntax, unknown_field, duplicate_key, wrong_type
	Message string `json:"message"`
}

// FileError rejects an import file. Its text has one line per problem,
// "org.yaml:42: posts[3].tz: unknown time zone ...". It unwraps to an
// apperr Invalid error so the HTTP layer answers 422 with the fields.
type FileError struct {
	Name     string
	Problems []Problem
}

// maxProblems keeps a hopeless file's report readable.
const maxProblems = 50

func (e *FileError) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i == maxProblems {
			fmt.Fprintf(&b, "\n… and %d more problems", len(e.Problems)-maxProblems)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.text(e.Name))
	}
	return b.String()
}

func (p Problem) text(name string) string {
	s := name
	if s == "" {
		s = "import"
	}
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
	}
	s += ": "
	if p.Path != "" {
		s += p.Path + ": "
	}
	return s + p.Message
}

func (e *FileError) Unwrap() error {
	fields := make([]apperr.FieldError, len(e.Problems))
	for i, p := range e.Problems {
		msg := p.Message
		if p.Line > 0 {
			msg = fmt.Sprintf("line %d: %s", p.Line, msg)
		}
		fields[i] = apperr.FieldError{Field: p.Path, Code: p.Code, Message: msg}
	}
	ae := apperr.Invalid(fields...)
	ae.Type = "invalid-import-file"
	ae.Detail = fmt.Sprintf("%s: the file has %d problem(s) and was not imported", orDefault(e.Name, "import"), len(e.Problems))
	return ae
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Path < ps[j].Path
	})
}

func fileErr(name string, line int, code, format string, args ...any) *FileError {
	return &FileError{Name: name, Problems: []Problem{{Line: line, Code: code, Message: fmt.Sprintf(format, args...)}}}
}

// IsJSON tells whether a file is JSON: by its extension, or else by its
// first non-blank character.
func IsJSON(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && t[0] == '{'
}

// ParseFile reads an import file, YAML or JSON (see IsJSON). Unknown fields,
// duplicate keys and values of the wrong type are rejected; every problem
// names the file and the line. The returned File remembers the lines so
// that Import can name them too.
func ParseFile(r io.Reader, name string) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", orDefault(name, "import"), err)
	}
	if len(data) > MaxFileSize {
		return nil, fileErr(name, 0, "too_large", "the file is larger than %d MiB", MaxFileSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fileErr(name, 0, "syntax", "the file is empty")
	}
	var root *yaml.Node
	if IsJSON(name, data) {
		root, err = jsonNode(data, name)
	} else {
		root, err = yamlNode(data, name)
	}
	if err != nil {
		return nil, err
	}
	w := &walker{lines: map[string]int{}, fields: map[reflect.Type]map[string]reflect.StructField{}}
	w.walk(root, reflect.TypeOf(File{}), "")
	if len(w.problems) > 0 {
		sortProblems(w.problems)
		return nil, &FileError{Name: name, Problems: w.problems}
	}
	var f File
	if err := root.Decode(&f); err != nil {
		return nil, decodeError(name, err)
	}
	f.src = &fileSource{name: name, lines: w.lines}
	return &f, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// refineYAMLLine finds the line of a structural error. For errors such as
// "did not find expected '-' indicator" the yaml package names the line
// where the enclosing block starts (and not consistently), which can be far
// above the mistake; the mistake is on the first line whose prefix of the
// file fails with the same error. The search is bounded in lines and in
// bytes parsed; past the bound the package's own line stands.
func refineYAMLLine(data []byte, line int, msg string) int {
	if !strings.HasPrefix(msg, "did not find expected") {
		return line
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	end := 0
	for k := 0; k < len(lines) && k < max(line, 1)-1; k++ {
		end += len(lines[k])
	}
	budget := 64 << 20 // bytes parsed in all, about a second's work
	for k := max(line, 1); k <= len(lines) && k < line+2000; k++ {
		end += len(lines[k-1])
		if budget -= end; budget < 0 {
			break
		}
		var n yaml.Node
		if err := yaml.Unmarshal(data[:end], &n); err != nil && strings.HasSuffix(err.Error(), msg) {
			return k
		}
	}
	return line
}

// decodeError turns what yaml reports into problems with lines.
func decodeError(name string, err error) error {
	var te *yaml.TypeError
	msgs := []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	fe := &FileError{Name: name}
	for _, m := range msgs {
		p := Problem{Code: "syntax", Message: m}
		if sm := yamlLineRE.FindStringSubmatch(m); sm != nil {
			p.Line, _ = strconv.Atoi(sm[1])
			p.Message = sm[2]
		}
		if te != nil {
			p.Code = "wrong_type"
		}
		fe.Problems = append(fe.Problems, p)
	}
	return fe
}

func yamlNode(data []byte, name string) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, fileErr(name, 0, "syntax", "the file holds no YAML document")
	} else if err != nil {
		fe := decodeError(name, err).(*FileError)
		for i := range fe.Problems {
			fe.Problems[i].Line = refineYAMLLine(data, fe.Problems[i].Line, fe.Problems[i].Message)
		}
		return nil, fe
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		line := more.Line
		if err != nil {
			return nil, decodeError(name, err)
		}
		return nil, fileErr(name, line, "syntax", "a second YAML document; an import file holds one")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, fileErr(name, 0, "syntax", "the file holds no YAML document")
	}
	return doc.Content[0], nil
}

// jsonNode parses JSON into the same node tree YAML gives, with the line of
// every value, so one walker and one decoder serve both syntaxes.
func jsonNode(data []byte, name string) (*yaml.Node, error) {
	// starts[i] is the offset where line i+2 begins.
	var starts []int
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	lineAt := func(off int) int { return sort.SearchInts(starts, off+1) + 1 }
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// start finds where the next token begins: InputOffset is the end of
	// the previous one, before any blank, ',' or ':'.
	start := func() int {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
			off++
		}
		return off
	}
	syntax := func(err error) error {
		off := int(dec.InputOffset())
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = int(se.Offset)
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			msg = "unexpected end of the file"
		}
		return fileErr(name, lineAt(off), "syntax", "%s", msg)
	}
	var value func() (*yaml.Node, error)
	value = func() (*yaml.Node, error) {
		line := lineAt(start())
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		n := &yaml.Node{Kind: yaml.ScalarNode, Line: line}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				n.Kind, n.Tag = yaml.MappingNode, "!!map"
				for dec.More() {
					kline := lineAt(start())
					k, err := dec.Token()
					if err != nil {
						return nil, syntax(err)
					}
					key, _ := k.(string)
					v, err := value()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: kline}, v)
				}
			case '[':
				n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
				for dec.More() {
					v, err := value()
					if err != nil {
						return nil, err
					}
					n.Content = append(n.Content, v)
				}
			}
			if _, err := dec.Token(); err != nil { // the closing delimiter
				return nil, syntax(err)
			}
		case string:
			n.Tag, n.Value, n.Style = "!!str", t, yaml.DoubleQuotedStyle
		case json.Number:
			n.Tag, n.Value = "!!int", t.String()
			if strings.ContainsAny(n.Value, ".eE") {
				n.Tag = "!!float"
			}
		case bool:
			n.Tag, n.Value = "!!bool", strconv.FormatBool(t)
		case nil:
			n.Tag, n.Value = "!!null", "null"
		}
		return n, nil
	}
	root, err := value()
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fileErr(name, lineAt(start()), "syntax", "more data after the end of the JSON document")
	}
	return root, nil
}

var timeType = reflect.TypeOf(time.Time{})

// walker checks a node tree against the File type before decoding: unknown
// fields, duplicate keys and shapes, each with its path and line; and it
// records the line of every path for later errors.
type walker struct {
	lines    map[string]int
	problems []Problem
	fields   map[reflect.Type]map[string]reflect.StructField
}

func (w *walker) problem(line int, path, code, format string, args ...any) {
	w.problems = append(w.problems, Problem{Line: line, Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, seen := w.lines[path]; !seen {
		w.lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	switch {
	case t == timeType:
		w.timestamp(n, path)
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.problem(n.Line, path, "wrong_type", "expected a mapping of fields, found %s", describe(n))
			return
		}
		fields, ok := w.fields[t]
		if !ok {
			fields = yamlFields(t)
			w.fields[t] = fields
		}
		keys := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := joinPath(path, k.Value)
			if first, dup := keys[k.Value]; dup {
				w.problem(k.Line, p, "duplicate_key", "%s is given twice (first on line %d)", quote(k.Value), first)
				continue
			}
			keys[k.Value] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				w.problem(k.Line, p, "unknown_field", "unknown field %s%s", quote(k.Value), hint(t, k.Value))
				continue
			}
			w.lines[p] = k.Line
			w.walk(v, f.Type, p)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.problem(n.Line, path, "wrong_type", "expected a list, found %s", describe(n))
			return
		}
		for i, item := range n.Content {
			w.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			w.problem(n.Line, path, "wrong_type", "expected a text value, found %s", describe(n))
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			w.problem(n.Line, path, "wrong_type", "expected true or false, found %s", describe(n))
		}
	}
}

// timestamp accepts a YAML timestamp, or a string holding an RFC 3339 time
// or a date (JSON has no timestamps), and marks it for the decoder.
func (w *walker) timestamp(n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!timestamp" {
			return
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if _, err := time.Parse(layout, n.Value); err == nil {
				n.Tag, n.Style = "!!timestamp", 0
				return
			}
		}
	}
	w.problem(n.Line, path, "wrong_type", "expected a date or time such as 2024-03-01 or 2024-03-01T12:00:00Z, found %s", describe(n))
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return quote(n.Value)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// hint explains fields that look right but are not part of the file.
func hint(t reflect.Type, key string) string {
	switch {
	case key == "id" || strings.HasSuffix(key, "_id"):
		return " (the file refers to records by code, not by id)"
	case key == "status" && t == reflect.TypeOf(MemberState{}):
		return " (write the status as status_history: a list of {status, valid_from})"
	case (key == "start_date" || key == "end_date") && t == reflect.TypeOf(Position{}):
		return " (the file calls it " + strings.TrimSuffix(key, "_date") + ")"
	}
	return ""
}

// yamlFields maps a struct's yaml field names to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

// WriteFile writes f as YAML or JSON ("yaml", "yml" or "json"), with the
// same field names in both.
func WriteFile(w io.Writer, f *File, format string) error {
	switch strings.ToLower(format) {
	case "", "yaml", "yml":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(f); err != nil {
			return err
		}
		return enc.Close()
	case "json":
		var n yaml.Node
		if err := n.Encode(f); err != nil {
			return err
		}
		var b bytes.Buffer
		if err := writeJSON(&b, &n, ""); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return err
	}
	return fmt.Errorf("unknown format %s (want yaml or json)", quote(format))
}

func writeJSON(b *bytes.Buffer, n *yaml.Node, indent string) error {
	inner := indent + "  "
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0], indent)
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			b.WriteString("{}")
			return nil
		}
		b.WriteString("{\n")
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			jsonString(b, n.Content[i].Value)
			b.WriteString(": ")
			if err := writeJSON(b, n.Content[i+1], inner); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "}")
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			b.WriteString("[]")
			return nil
		}
		b.WriteString("[\n")
		for i, c := range n.Content {
			if i > 0 {
				b.WriteString(",\n")
			}
			b.WriteString(inner)
			if err := writeJSON(b, c, inner); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent + "]")
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			b.WriteString("null")
		case "!!bool", "!!int", "!!float":
			b.WriteString(n.Value)
		default:
			jsonString(b, n.Value)
		}
	case yaml.AliasNode:
		return writeJSON(b, n.Alias, indent)
	}
	return nil
}

func jsonString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}
