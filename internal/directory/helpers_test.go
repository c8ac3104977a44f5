package directory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
)

// seedYAML is a small organisation: two member states (BY suspended from
// 2024-06-01), a centre and a ministry, three people, three posts. Line
// numbers of this text are used by tests; edit with care.
const seedYAML = `organisation:
  name_en: Test Organisation
  name_ru: Тестовая организация
  tz: Europe/Moscow
member_states:
  - code: KZ
    name_en: Kazakhstan
    name_ru: Казахстан
    tz: Asia/Almaty
    working_hours: Mon-Fri 09:00-18:00
  - code: BY
    name_en: Belarus
    name_ru: Беларусь
    tz: Europe/Minsk
    status_history:
      - {status: active, valid_from: 2002-10-07}
      - {status: suspended, valid_from: 2024-06-01, note: participation suspended}
bodies:
  - code: CRC
    kind: centre
    name_en: Crisis Response Centre
    name_ru: Центр кризисного реагирования
    parent: SEC
  - code: SEC
    kind: secretariat
    name_en: Secretariat
    name_ru: Секретариат
  - code: KZ-MES
    kind: ministry
    name_en: Ministry for Emergency Situations
    name_ru: Министерство по чрезвычайным ситуациям
    state: KZ
people:
  - code: sg
    name_en: Anna Secretary
    name_ru: Анна Секретарь
    body: SEC
    languages: [ru, en]
    positions:
      - {title_en: Secretary General, title_ru: Генеральный секретарь, start: 2017-01, end: 2019-12, body: SEC}
      - {title_en: Secretary General, title_ru: Генеральный секретарь, start: 2020-01, acting: true, body: SEC}
  - code: kz-duty
    name_en: Aidar Nurlanov
    name_ru: Айдар Нурланов
    body: KZ-MES
    email: duty@mes.kz.example
  - code: by-duty
    name_en: Ivan Petrovich
    name_ru: Иван Петрович
    state: BY
posts:
  - code: CRC-DESK
    kind: centre
    name_en: Centre duty desk
    name_ru: Дежурная смена центра
    body: CRC
    contacts:
      - {kind: phone, value: "+7 495 000 00 00"}
  - code: KZ-MES-CP
    name_en: MES command post
    name_ru: Командный пункт МЧС
    body: KZ-MES
    ministry_kind: emergency
    head: kz-duty
    contacts:
      - {kind: phone, value: "+7 717 000 00 00"}
  - code: BY-MOD-CP
    name_en: Defence command post
    name_ru: Командный пункт Минобороны
    state: BY
    ministry_kind: defence
    head: by-duty
    contacts:
      - {kind: secure_line, value: "BY-1"}
`

// epoch is the fake clock's start: a Wednesday before Kazakhstan's offset
// change and before BY's suspension.
var epoch = time.Date(2024, 2, 28, 10, 0, 0, 0, time.UTC)

type env struct {
	d   *db.DB
	s   *directory.Store
	clk *clock.Fake
}

func newEnv(t testing.TB, d *db.DB) *env {
	clk := clock.NewFake(epoch, false)
	return &env{d: d, s: directory.New(d, clk, audit.New(d, clk)), clk: clk}
}

func sys() context.Context { return auth.With(context.Background(), auth.System("test")) }

func as(a *auth.Actor) context.Context { return auth.With(context.Background(), a) }

func parse(t testing.TB, name, text string) *directory.File {
	t.Helper()
	f, err := directory.ParseFile(strings.NewReader(text), name)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return f
}

func (e *env) seed(t testing.TB) *directory.ImportReport {
	t.Helper()
	rep, err := e.s.Import(sys(), parse(t, "org.yaml", seedYAML), directory.ImportOptions{})
	if err != nil {
		t.Fatalf("seed import: %v", err)
	}
	return rep
}

func (e *env) stateID(t testing.TB, code string) string {
	t.Helper()
	m, err := e.s.GetMemberState(sys(), code)
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func (e *env) auditCount(t testing.TB) int {
	t.Helper()
	var n int
	if err := e.d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) auditActions(t testing.TB) []string {
	t.Helper()
	rows, err := e.d.Query(context.Background(), "SELECT action FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// wantKind fails unless err is an *apperr.Error of kind k.
func wantKind(t testing.TB, err error, k apperr.Kind) {
	t.Helper()
	if !apperr.Is(err, k) {
		t.Fatalf("got error %v, want apperr kind %d", err, k)
	}
}

// wantField fails unless err is Invalid with a field error field/code.
func wantField(t testing.TB, err error, field, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid {
		t.Fatalf("got %v, want an Invalid error with %s: %s", err, field, code)
	}
	for _, f := range e.Fields {
		if f.Field == field && f.Code == code {
			if f.Message == "" {
				t.Fatalf("field error %s/%s has no message", field, code)
			}
			return
		}
	}
	t.Fatalf("got fields %+v, want %s: %s", e.Fields, field, code)
}

func codesOf[T any](items []T, code func(T) string) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = code(x)
	}
	return out
}

func personCodes(ps []directory.Person) []string {
	return codesOf(ps, func(p directory.Person) string { return p.Code })
}
func postCodes(ps []directory.Post) []string {
	return codesOf(ps, func(p directory.Post) string { return p.Code })
}
