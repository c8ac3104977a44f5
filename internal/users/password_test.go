package users

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h, err := HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not PHC argon2id with the current parameters", h)
	}
	if strings.Contains(h, goodPassword) {
		t.Fatal("hash contains the password")
	}
	ok, err := VerifyPassword(h, goodPassword)
	if err != nil || !ok {
		t.Fatalf("right password: ok=%v err=%v", ok, err)
	}
	ok, err = VerifyPassword(h, goodPassword+"!")
	if err != nil || ok {
		t.Fatalf("wrong password: ok=%v err=%v", ok, err)
	}
	h2, _ := HashPassword(goodPassword)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if NeedsRehash(h) {
		t.Fatal("a fresh hash needs rehash")
	}
}

func TestNeedsRehashForOtherParameters(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(goodPassword), salt, 1, 8*1024, 1, 32)
	old := fmt.Sprintf("$argon2id$v=19$m=8192,t=1,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	ok, err := VerifyPassword(old, goodPassword)
	if err != nil || !ok {
		t.Fatalf("old-parameter hash does not verify: ok=%v err=%v", ok, err)
	}
	if !NeedsRehash(old) {
		t.Fatal("old parameters should need a rehash")
	}
}

func TestVerifyRejectsUnreadableHashes(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=0,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "$argon2id$v=19$m=19456,t=2,p=1$!!$!!"} {
		if ok, err := VerifyPassword(h, goodPassword); err == nil || ok {
			t.Errorf("%q: ok=%v err=%v, want an error", h, ok, err)
		}
		if !NeedsRehash(h) {
			t.Errorf("%q: unreadable hash should need a rehash", h)
		}
	}
}

func TestCheckPasswordRules(t *testing.T) {
	cases := []struct {
		pw, code string
	}{
		{"", "required"},
		{"          ", "required"},
		{"short", "too_short"},
		{"пароль123", "too_short"}, // 9 characters, 15 bytes
		{strings.Repeat("x", MaxPasswordLen+1), "too_long"},
		{"пароль1234", ""},
		{goodPassword, ""},
	}
	for _, c := range cases {
		err := CheckPassword("password", c.pw)
		if c.code == "" {
			if err != nil {
				t.Errorf("%q: %v", c.pw, err)
			}
			continue
		}
		wantFieldCode(t, err, "password", c.code)
	}
}

// oldKey is the argon2id key of pw with weak parameters and the salt
// "0123456789abcdef", for rehash tests.
func oldKey(pw string) string {
	return b64.EncodeToString(argon2.IDKey([]byte(pw), []byte("0123456789abcdef"), 1, 8*1024, 1, 32))
}
