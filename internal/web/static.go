package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one static file, served under a name carrying a hash of its
// content (app.3f2a9c1b.css) so that it can be cached for a year and a new
// release is still fetched at once.
type asset struct {
	url  string
	body []byte
	typ  string
}

// assets indexes the embedded static files by their plain name and by
// their hashed URL path.
type assets struct {
	byName map[string]*asset
	byPath map[string]*asset
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}, byPath: map[string]*asset{}}
	add := func(name string, b []byte) {
		sum := sha256.Sum256(b)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:])[:12] + ext
		typ := mime.TypeByExtension(ext)
		if ext == ".wav" {
			typ = "audio/wav" // not in Go's built-in table; hosts differ
		}
		if typ == "" {
			typ = "application/octet-stream"
		}
		x := &asset{url: "/static/" + hashed, body: b, typ: typ}
		a.byName[name] = x
		a.byPath[hashed] = x
	}
	// Generated, not stored: the alarm sound (see sound.go).
	add("alarm.wav", alarmWAV())
	add("silence.wav", silenceWAV())
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		add(strings.TrimPrefix(p, "static/"), b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of a static file; an unknown name is a
// template bug and fails the parse-time check in the tests.
func (a *assets) URL(name string) (string, error) {
	x, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return x.url, nil
}

var startTime = time.Unix(0, 0)

func (a *assets) serve(w http.ResponseWriter, r *http.Request) {
	x, ok := a.byPath[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", x.typ)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", startTime, bytes.NewReader(x.body))
}
