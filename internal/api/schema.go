package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// schema is an OpenAPI 3.0 Schema Object (the subset the document uses).
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	AllOf                []*schema          `json:"allOf,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	Nullable             bool               `json:"nullable,omitempty"`
	ReadOnly             bool               `json:"readOnly,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Example              any                `json:"example,omitempty"`
}

// schemas builds component schemas from Go types by reflection, so the
// document describes exactly what encoding/json writes and what the strict
// decoder accepts. A struct used as a response is named after its type and
// lists as required every field without omitempty; the same struct used as a
// request body is a separate "…Input" schema without a required list (the
// stores answer 422 with field codes for what is missing) and with
// additionalProperties false, because unknown fields are refused.
type schemas struct {
	defs  map[string]*schema
	names map[reflect.Type]string
	// enums and descriptions for named fields, keyed "Type.json_name".
	enums    map[string][]any
	notes    map[string]string
	nullable map[string]bool
	// replace maps a type that marshals itself (MarshalJSON) to a type
	// with the same wire form, which is what gets reflected.
	replace map[reflect.Type]reflect.Type
}

func newSchemas() *schemas {
	return &schemas{defs: map[string]*schema{}, names: map[reflect.Type]string{},
		enums: map[string][]any{}, notes: map[string]string{}, nullable: map[string]bool{}, replace: map[reflect.Type]reflect.Type{}}
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// serverOwned fields are set by the server; a request may carry them (a
// client that PUTs back what it read) but they are ignored.
var serverOwned = map[string]bool{"id": true, "created_at": true, "updated_at": true}

// ref returns a reference to the response schema of v's type.
func (s *schemas) ref(v any) *schema { return s.of(reflect.TypeOf(v), false) }

// input returns a reference to the request schema of v's type.
func (s *schemas) input(v any) *schema { return s.of(reflect.TypeOf(v), true) }

func (s *schemas) of(t reflect.Type, input bool) *schema {
	if r, ok := s.replace[t]; ok {
		t = r
	}
	switch {
	case t == timeType:
		return &schema{Type: "string", Format: "date-time", Description: "RFC 3339, UTC"}
	case t == rawType:
		return &schema{Description: "any JSON value"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		sc := s.of(t.Elem(), input)
		if sc.Ref != "" {
			// 3.0 cannot mark a $ref nullable directly.
			return &schema{AllOf: []*schema{sc}, Nullable: true}
		}
		c := *sc
		c.Nullable = true
		return &c
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Slice, reflect.Array:
		return &schema{Type: "array", Items: s.of(t.Elem(), input)}
	case reflect.Map:
		return &schema{Type: "object", AdditionalProperties: s.of(t.Elem(), input)}
	case reflect.Interface:
		return &schema{Description: "any JSON value"}
	case reflect.Struct:
		return s.object(t, input)
	}
	panic(fmt.Sprintf("api: no schema for %s", t))
}

// object returns a $ref to the struct's component, building it once.
func (s *schemas) object(t reflect.Type, input bool) *schema {
	name := s.nameOf(t)
	if input {
		name += "Input"
	}
	if _, ok := s.defs[name]; !ok {
		sc := &schema{Type: "object", Properties: map[string]*schema{}}
		s.defs[name] = sc // before recursing: self-references end here
		s.fields(t, sc, input)
		if input {
			sc.AdditionalProperties = false
		}
	}
	return &schema{Ref: "#/components/schemas/" + name}
}

func (s *schemas) fields(t reflect.Type, sc *schema, input bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			s.fields(f.Type, sc, input)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := s.of(f.Type, input)
		if hasOpt(opts, "string") && p.Type != "" && p.Type != "string" && p.Type != "array" && p.Type != "object" {
			// ",string" puts a number or boolean in a JSON string.
			c := *p
			c.Type, c.Format = "string", ""
			p = &c
		}
		key := t.Name() + "." + name
		if e, ok := s.enums[key]; ok {
			c := *p
			c.Enum = e
			p = &c
		}
		if n, ok := s.notes[key]; ok && p.Ref == "" {
			c := *p
			c.Description = n
			p = &c
		}
		if s.nullable[key] && p.Ref == "" {
			c := *p
			c.Nullable = true
			p = &c
		}
		if serverOwned[name] && p.Ref == "" {
			// Not readOnly on input: a client may send back what it read,
			// and the server ignores these.
			c := *p
			if input {
				c.Description = "set by the server; ignored here"
			} else {
				c.ReadOnly = true
			}
			p = &c
		}
		sc.Properties[name] = p
		omit := hasOpt(opts, "omitempty") || hasOpt(opts, "omitzero")
		if !input && !omit && f.Type.Kind() != reflect.Pointer {
			sc.Required = append(sc.Required, name)
		}
	}
}

// nameOf names a struct's component: its Go type name, or package+name when
// two packages use the same name.
func (s *schemas) nameOf(t reflect.Type) string {
	if n, ok := s.names[t]; ok {
		return n
	}
	n := t.Name()
	if n == "" || strings.ContainsAny(n, "[]") {
		panic(fmt.Sprintf("api: give %s a named schema", t))
	}
	for other, on := range s.names {
		if on == n && other != t {
			pkg := t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:]
			n = strings.ToUpper(pkg[:1]) + pkg[1:] + n
			break
		}
	}
	s.names[t] = n
	return n
}

// list returns a reference to the list schema of v's type:
// {"items": [...], "next_cursor": "..."}.
func (s *schemas) list(v any) *schema {
	t := reflect.TypeOf(v)
	name := s.nameOf(t) + "List"
	if _, ok := s.defs[name]; !ok {
		s.defs[name] = &schema{Type: "object", Required: []string{"items", "next_cursor"},
			Properties: map[string]*schema{
				"items": {Type: "array", Items: s.of(t, false)},
				"next_cursor": {Type: "string",
					Description: "pass as ?cursor= for the next page; empty on the last page"},
			}}
	}
	return &schema{Ref: "#/components/schemas/" + name}
}

func hasOpt(opts, name string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == name {
			return true
		}
	}
	return false
}
