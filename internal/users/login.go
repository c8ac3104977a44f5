package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Login throttling.
//
// Failed logins are slowed down, never refused for good: locking out a duty
// officer at 3 a.m. is an outage, and an account lock is a tool an attacker
// can use to cause one. Each evaluated failure counts against three keys in
// login_failures (shared by every replica):
//
//   - "acct:<login>|ip:<addr>": this account from this address. 3 free
//     failures, then 1 s, 2 s, 4 s … capped at 30 s between attempts.
//   - "ip:<addr>": this address, whatever account (password spraying). 10
//     free failures (a ministry's NAT holds several officers), then the same
//     backoff, capped at 30 s.
//   - "acct:<login>": this account from anywhere (guessing spread over many
//     addresses). Softer: 10 free failures, then a backoff capped at 5 s,
//     and it only holds back an address that has used up its own 3 free
//     failures on this account.
//
// So an attacker guessing from one address slows down only themselves: the
// real officer signing in from another address has no failures under their
// own pair and address keys, and an address that has not used up its free
// failures is never held back by the account key, however busy the attacker
// is. The worst an attacker spread over many addresses can do to an officer
// who has already mistyped three times is make them retry after a few
// seconds. An IPv6 address counts by its /64, which one subscriber holds.
//
// A throttled attempt does not check the password (no argon2 work to be
// forced on the server), is not counted, and is not audited (or a flood
// would fill the log); it is answered with apperr.TooMany carrying the wait,
// which HTTP turns into Retry-After.
// Counts are forgotten 15 minutes after the last failure, and a success
// clears the account's keys (not the address's: a success on one's own
// account must not reset a sprayer's count).
type throttleRule struct {
	free int
	cap  time.Duration
}

var (
	rulePair = throttleRule{free: 3, cap: 30 * time.Second}
	ruleAddr = throttleRule{free: 10, cap: 30 * time.Second}
	ruleAcct = throttleRule{free: 10, cap: 5 * time.Second}
)

// failureMemory: failures older than this no longer count.
const failureMemory = 15 * time.Minute

// delay after n failures under rule r.
func (r throttleRule) delay(n int) time.Duration {
	if n <= r.free {
		return 0
	}
	shift := n - r.free - 1
	if shift > 10 {
		return r.cap
	}
	d := time.Second << shift
	if d > r.cap {
		d = r.cap
	}
	return d
}

type keys struct{ pair, addr, acct string }

func (k keys) all() []string { return []string{k.pair, k.addr, k.acct} }

// throttleKeys names the counters for login from ip.
func throttleKeys(login, ip string) keys {
	login = NormLogin(login)
	if len(login) > 254 {
		login = login[:254]
	}
	a := addrKey(ip)
	return keys{pair: "acct:" + login + "|ip:" + a, addr: "ip:" + a, acct: "acct:" + login}
}

// addrKey normalises a client address: no port, IPv6 cut to its /64.
func addrKey(ip string) string {
	ip = strings.TrimSpace(ip)
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if len(ip) > 64 {
			ip = ip[:64]
		}
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func throttled(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return apperr.TooMany(fmt.Sprintf("too many failed sign-ins; try again in %d s", secs), time.Duration(secs)*time.Second)
}

// checkThrottle answers apperr.TooMany when an attempt under k must wait.
func (s *Store) checkThrottle(ctx context.Context, k keys) error {
	rows, err := s.d.Query(ctx, `SELECT key, failures, last_at FROM login_failures WHERE key IN (?, ?, ?)`, k.pair, k.addr, k.acct)
	if err != nil {
		return err
	}
	defer rows.Close()
	type row struct {
		n    int
		last time.Time
	}
	got := map[string]row{}
	now := s.clock.Now()
	for rows.Next() {
		var key string
		var r row
		if err := rows.Scan(&key, &r.n, &r.last); err != nil {
			return err
		}
		if now.Sub(r.last) < failureMemory {
			got[key] = r
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var wait time.Duration
	check := func(key string, rule throttleRule) {
		r, ok := got[key]
		if !ok {
			return
		}
		if w := r.last.UTC().Add(rule.delay(r.n)).Sub(now); w > wait {
			wait = w
		}
	}
	check(k.pair, rulePair)
	check(k.addr, ruleAddr)
	if got[k.pair].n >= rulePair.free {
		check(k.acct, ruleAcct)
	}
	if wait > 0 {
		return throttled(wait)
	}
	return nil
}

// recordFailure counts one failure under every key.
func (s *Store) recordFailure(ctx context.Context, tx *db.Tx, k keys) error {
	now := s.clock.Now()
	for _, key := range k.all() {
		if _, err := tx.Exec(ctx, `INSERT INTO login_failures (key, failures, last_at) VALUES (?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN login_failures.last_at < ? THEN 1 ELSE login_failures.failures + 1 END,
				last_at = excluded.last_at`, key, now, now.Add(-failureMemory)); err != nil {
			return fmt.Errorf("count login failure: %w", err)
		}
	}
	return nil
}

// Login checks a login and password and opens a session. It answers the
// same apperr.Unauthorized for an unknown login, a wrong password, an
// inactive account and one without a password, after the same work, so the
// answer does not tell which logins exist. See the throttling notes above.
// cookieValue is what the browser keeps; the store keeps only its hash.
func (s *Store) Login(ctx context.Context, login, password, ip, userAgent string) (*Session, string, error) {
	login = NormLogin(login)
	var f apperr.Fields
	if login == "" {
		f.Add("login", "required", "enter your e-mail address")
	}
	if password == "" {
		f.Add("password", "required", "enter your password")
	}
	if err := f.Err(); err != nil {
		return nil, "", err
	}
	if len(userAgent) > 512 {
		userAgent = userAgent[:512]
	}
	k := throttleKeys(login, ip)
	if err := s.checkThrottle(ctx, k); err != nil {
		return nil, "", err
	}
	var userID, hash string
	var active bool
	err := s.d.QueryRow(ctx, `SELECT id, password_hash, active FROM users WHERE login = ?`, login).Scan(&userID, &hash, &active)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", err
	}
	reason := ""
	switch {
	case userID == "":
		reason = "unknown_login"
	case !active:
		reason = "inactive"
	case hash == "":
		reason = "no_password"
	}
	ok := false
	if reason == "" && len(password) <= MaxPasswordLen {
		ok, err = s.verify(ctx, hash, password)
		switch {
		case errors.Is(err, errBadHash):
			// A damaged hash locks nobody in or out silently: the account
			// answers like a wrong password and the audit entry says why,
			// so an administrator can set a new one.
			reason = "unreadable_hash"
		case err != nil:
			return nil, "", err
		case !ok:
			reason = "wrong_password"
		}
	} else {
		_, _ = s.verify(ctx, s.dummyHash(), password)
		if reason == "" {
			reason = "wrong_password"
		}
	}
	if !ok {
		err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
			if err := s.recordFailure(ctx, tx, k); err != nil {
				return err
			}
			// Nobody is signed in: the entry is anonymous, with the address.
			return s.audit.Record(auth.With(ctx, nil), tx, audit.Entry{Action: "user.login_failed", ObjectType: "user", ObjectID: userID,
				Summary: fmt.Sprintf("failed sign-in as %s from %s", login, ip),
				After:   map[string]string{"login": login, "ip": ip, "user_agent": userAgent, "reason": reason}})
		})
		if err != nil {
			return nil, "", err
		}
		return nil, "", apperr.Unauthorized("wrong e-mail address or password")
	}
	newHash := ""
	if NeedsRehash(hash) {
		if newHash, err = s.hash(ctx, password); err != nil {
			return nil, "", err
		}
	}
	a, err := s.ActorForUser(ctx, userID)
	if err != nil {
		return nil, "", err
	}
	a.IP = ip
	cookie := randomToken(32)
	now := s.clock.Now()
	sess := &Session{ID: sha256Hex(cookie), UserID: userID, CSRF: randomToken(32), IP: ip, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionMax), Current: true}
	sess.IdleUntil = now.Add(s.idleFor(a.Grants))
	if sess.IdleUntil.After(sess.ExpiresAt) {
		sess.IdleUntil = sess.ExpiresAt
	}
	a.SessionID = sess.ID
	err = s.d.RunInTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE key IN (?, ?)`, k.pair, k.acct); err != nil {
			return err
		}
		if newHash != "" {
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?`, newHash, userID, hash); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, csrf, ip, user_agent, idle_seconds, created_at, last_seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sess.ID, userID, sess.CSRF, ip, userAgent, int64(s.idleFor(a.Grants)/time.Second),
			now, now, sess.ExpiresAt); err != nil {
			return err
		}
		return s.audit.Record(auth.With(ctx, a), tx, audit.Entry{Action: "user.login", ObjectType: "user", ObjectID: userID,
			Summary: fmt.Sprintf("%s signed in from %s", login, ip),
			After:   map[string]string{"login": login, "ip": ip, "user_agent": userAgent}})
	})
	if err != nil {
		return nil, "", err
	}
	return sess, cookie, nil
}

// PruneLoginFailures forgets failure counts that no longer count; the server
// calls it now and then so the table stays small under an attack with many
// made-up logins.
func (s *Store) PruneLoginFailures(ctx context.Context) (int64, error) {
	var n int64
	err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
		r, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE last_at < ?`, s.clock.Now().Add(-failureMemory))
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return n, err
}
