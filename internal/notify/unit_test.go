package notify

import (
	"mime"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
)

func TestBackoffDoublesFromOneSecondUpToOneHour(t *testing.T) {
	cases := []struct {
		n    int
		want time.Duration
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {12, 2048 * time.Second},
		{13, time.Hour}, {40, time.Hour}, {1000, time.Hour},
	}
	for _, c := range cases {
		if got := Backoff(c.n); got != c.want {
			t.Errorf("Backoff(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

func TestVerifySignatureRefusesTamperingAndStaleTimestamps(t *testing.T) {
	body := []byte(`{"id":"x","type":"alert.created"}`)
	now := time.Unix(1_770_000_000, 0)
	hdr := Sign(body, now, "s1", "s0")
	cases := []struct {
		name    string
		header  string
		body    []byte
		secrets []string
		at      time.Time
		want    error
	}{
		{"new secret", hdr, body, []string{"s1"}, now, nil},
		{"previous secret", hdr, body, []string{"s0"}, now, nil},
		{"wrong secret", hdr, body, []string{"s2"}, now, ErrSignatureMismatch},
		{"body changed", hdr, []byte(`{"id":"y","type":"alert.created"}`), []string{"s1"}, now, ErrSignatureMismatch},
		{"timestamp changed", strings.Replace(hdr, "t=1770000000", "t=1770000001", 1), body, []string{"s1"}, now, ErrSignatureMismatch},
		{"replayed later", hdr, body, []string{"s1"}, now.Add(6 * time.Minute), ErrSignatureTime},
		{"from the future", hdr, body, []string{"s1"}, now.Add(-6 * time.Minute), ErrSignatureTime},
		{"no signature", "t=1770000000", body, []string{"s1"}, now, ErrSignatureHeader},
		{"garbage", "v1=zz,t=x", body, []string{"s1"}, now, ErrSignatureHeader},
		{"empty", "", body, []string{"s1"}, now, ErrSignatureHeader},
	}
	for _, c := range cases {
		if got := VerifySignature(c.header, c.body, c.secrets, c.at, 5*time.Minute); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if !strings.HasPrefix(hdr, "t=1770000000,v1=") || strings.Count(hdr, ",v1=") != 2 {
		t.Fatalf("header %q", hdr)
	}
}

func TestSignedLinksCarryTheirFieldsAndExpire(t *testing.T) {
	l := &Links{key: []byte(strings.Repeat("a", 32))}
	exp := time.Unix(1_770_000_000, 0)
	tok := l.SignAckLink("d-1", "p-1", exp)
	if strings.ContainsAny(tok, "+/=?&# ") {
		t.Fatalf("token is not URL-safe: %q", tok)
	}
	if d, p, err := l.VerifyAckLink(tok, exp.Add(-time.Second)); err != nil || d != "d-1" || p != "p-1" {
		t.Fatalf("%s %s %v", d, p, err)
	}
	if _, _, err := l.VerifyAckLink(tok, exp); !isType(err, apperr.KindForbidden, "link-expired") {
		t.Fatalf("at its expiry: %v", err)
	}
}

func TestCyrillicSubjectIsEncodedAndFolded(t *testing.T) {
	s := "EXERCISE — [FLASH] " + strings.Repeat("Проверка готовности ", 10)
	enc := encodeHeader(s)
	for _, line := range strings.Split(enc, "\r\n") {
		if len(line) > 78 {
			t.Fatalf("header line of %d characters: %q", len(line), line)
		}
		for _, c := range line {
			if c > 0x7e {
				t.Fatalf("not ASCII: %q", line)
			}
		}
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
	if err != nil || dec != strings.TrimSpace(s) {
		t.Fatalf("decoded %q, %v", dec, err)
	}
	if got := encodeHeader("Plain\r\nBcc: evil@example.org"); strings.ContainsAny(got, "\r\n") {
		t.Fatalf("header injection: %q", got)
	}
}
