package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"sitroom/internal/apperr"
)

// Argon2id parameters for new hashes: the OWASP minimum for argon2id
// (19 MiB, two passes, one lane). A login costs a few tens of milliseconds
// and 19 MiB, which is why Store bounds how many hashes run at once.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length rules. The maximum only stops a megabyte "password" from
// being fed to the hash.
const (
	MinPasswordLen = 10   // characters
	MaxPasswordLen = 1024 // bytes
)

var b64 = base64.RawStdEncoding

// HashPassword returns pw hashed with argon2id as a PHC-style string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. It is slow on purpose: call
// it outside any transaction.
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type phc struct {
	m    uint32
	t    uint32
	p    uint8
	salt []byte
	key  []byte
}

var errBadHash = errors.New("not an argon2id hash")

func parsePHC(encoded string) (*phc, error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return nil, errBadHash
	}
	h := &phc{}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.m, &h.t, &h.p); err != nil {
		return nil, errBadHash
	}
	if h.m == 0 || h.m > 1<<22 || h.t == 0 || h.t > 64 || h.p == 0 {
		return nil, errBadHash
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, errBadHash
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return nil, errBadHash
	}
	return h, nil
}

// VerifyPassword tells whether pw matches the encoded hash, comparing in
// constant time. An unreadable hash is an error, not a mismatch.
func VerifyPassword(encoded, pw string) (bool, error) {
	h, err := parsePHC(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.t, h.m, h.p, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash tells whether encoded was made with other parameters than the
// current ones (or cannot be read), so that a successful login should store a
// fresh hash.
func NeedsRehash(encoded string) bool {
	h, err := parsePHC(encoded)
	if err != nil {
		return true
	}
	return h.m != argonMemory || h.t != argonTime || h.p != argonThreads || len(h.key) != argonKeyLen || len(h.salt) != argonSaltLen
}

// CheckPassword applies the length rules; field names the input.
func CheckPassword(field, pw string) error {
	var f apperr.Fields
	switch {
	case strings.TrimFunc(pw, unicode.IsSpace) == "":
		f.Add(field, "required", "a password is required")
	case len(pw) > MaxPasswordLen:
		f.Add(field, "too_long", "at most %d bytes", MaxPasswordLen)
	case !utf8.ValidString(pw):
		f.Add(field, "invalid", "the password is not valid UTF-8")
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		f.Add(field, "too_short", "at least %d characters", MinPasswordLen)
	}
	return f.Err()
}
