package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

//go:embed i18n/*.json
var catalogueFS embed.FS

// Langs are the languages of the interface, the first being the fallback.
var Langs = []string{"en", "ru"}

// langCookie remembers an anonymous visitor's choice (a signed-in user's
// choice is saved on the account).
const langCookie = "lang"

// catalogue maps keys to texts of one language. A text may hold fmt verbs
// for t's arguments; a plural text (used with tn) holds its forms separated
// by "|": one|other in English, one|few|many in Russian.
type catalogue map[string]string

// loadCatalogues reads every language's catalogue and refuses a set whose
// keys differ: a text missing in one language is a bug found at start.
func loadCatalogues() (map[string]catalogue, error) {
	cats := map[string]catalogue{}
	for _, l := range Langs {
		b, err := catalogueFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		var c catalogue
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("i18n/%s.json: %w", l, err)
		}
		cats[l] = c
	}
	if missing := catalogueGaps(cats); len(missing) > 0 {
		return nil, fmt.Errorf("i18n: keys missing: %s", strings.Join(missing, ", "))
	}
	return cats, nil
}

// catalogueGaps lists "lang:key" for every key some catalogue lacks.
func catalogueGaps(cats map[string]catalogue) []string {
	all := map[string]bool{}
	for _, c := range cats {
		for k := range c {
			all[k] = true
		}
	}
	var out []string
	for _, l := range Langs {
		for k := range all {
			if _, ok := cats[l][k]; !ok {
				out = append(out, l+":"+k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// missingMark wraps a key that has no text, so that it is visible on the
// page and a test can find it; it never happens with a consistent catalogue
// except for a key computed at run time from an unexpected value.
func missingMark(key string) string { return "!(" + key + ")" }

// translator renders texts of one language.
type translator struct {
	lang string
	cat  catalogue
}

// T returns the text for key with args formatted into it.
func (tr translator) T(key string, args ...any) string {
	s, ok := tr.cat[key]
	if !ok {
		return missingMark(key)
	}
	if len(args) == 0 || !strings.Contains(s, "%") {
		// A text without verbs ignores arguments (a page title may be
		// given the record's code whether or not the text shows it).
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Has tells whether key has a text.
func (tr translator) Has(key string) bool {
	_, ok := tr.cat[key]
	return ok
}

// N returns the plural form of key for n, with n (and args) formatted in.
func (tr translator) N(key string, n int, args ...any) string {
	s, ok := tr.cat[key]
	if !ok {
		return missingMark(key)
	}
	forms := strings.Split(s, "|")
	f := forms[pluralIndex(tr.lang, n, len(forms))]
	return fmt.Sprintf(f, append([]any{n}, args...)...)
}

// pluralIndex picks the form for n: English one|other, Russian one|few|many.
func pluralIndex(lang string, n, forms int) int {
	if n < 0 {
		n = -n
	}
	i := 0
	switch lang {
	case "ru":
		switch {
		case n%10 == 1 && n%100 != 11:
			i = 0
		case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
			i = 1
		default:
			i = 2
		}
	default:
		if n != 1 {
			i = 1
		}
	}
	if i >= forms {
		i = forms - 1
	}
	return i
}

// validLang returns l if it is an interface language, else "".
func validLang(l string) string {
	l = strings.ToLower(strings.TrimSpace(l))
	for _, x := range Langs {
		if l == x {
			return x
		}
	}
	return ""
}

// acceptLanguage picks the best interface language from the header
// (weights honoured, regional variants such as ru-RU matched), or "".
func acceptLanguage(h string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(tag, "-")
		if l := validLang(base); l != "" && q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best
}

// requestLang is the language for an anonymous request: the lang cookie,
// else Accept-Language, else English. A signed-in user's saved locale is
// applied by the caller before this.
func requestLang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil {
		if l := validLang(c.Value); l != "" {
			return l
		}
	}
	if l := acceptLanguage(r.Header.Get("Accept-Language")); l != "" {
		return l
	}
	return Langs[0]
}
