package directory_test

import (
	"bytes"
	"fmt"
	"testing"

	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

// benchFile is a directory of the size of a real organisation: 6 member
// states, 100 posts, 1000 people (each with two positions).
func benchFile() *directory.File {
	states := []struct{ code, tz string }{
		{"AM", "Asia/Yerevan"}, {"BY", "Europe/Minsk"}, {"KZ", "Asia/Almaty"},
		{"KG", "Asia/Bishkek"}, {"RU", "Europe/Moscow"}, {"TJ", "Asia/Dushanbe"},
	}
	f := &directory.File{Organisation: directory.OrgInfo{NameEN: "Org", NameRU: "Орг", TZ: "Europe/Moscow"}}
	for _, s := range states {
		f.MemberStates = append(f.MemberStates, directory.MemberState{Code: s.code, NameEN: s.code, NameRU: s.code, TZ: s.tz,
			WorkingHours: "Mon-Fri 09:00-18:00"})
	}
	f.Bodies = append(f.Bodies, directory.Body{Code: "SEC", Kind: directory.BodySecretariat, NameEN: "Secretariat", NameRU: "Секретариат"})
	for i := 0; i < 1000; i++ {
		p := directory.Person{Code: fmt.Sprintf("person-%04d", i), NameEN: fmt.Sprintf("Person %d", i), NameRU: fmt.Sprintf("Сотрудник %d", i),
			Email: fmt.Sprintf("p%d@example.org", i), Languages: []string{"ru", "en"},
			Positions: []directory.Position{
				{TitleEN: "Officer", TitleRU: "Офицер", StartDate: "2015-01", EndDate: "2019-12-31", Body: "SEC"},
				{TitleEN: "Senior officer", TitleRU: "Старший офицер", StartDate: "2020-01"},
			}}
		if i%10 != 0 {
			p.State = states[i%len(states)].code
		}
		f.People = append(f.People, p)
	}
	for i := 0; i < 100; i++ {
		p := directory.Post{Code: fmt.Sprintf("POST-%03d", i), NameEN: fmt.Sprintf("Post %d", i), NameRU: fmt.Sprintf("Пост %d", i),
			Head:     fmt.Sprintf("person-%04d", i*10+1),
			Contacts: []directory.Contact{{Kind: "phone", Value: "+7 000 000 00 00"}, {Kind: "email", Value: fmt.Sprintf("post%d@example.org", i)}}}
		if i%20 == 0 {
			p.Kind, p.Head = directory.PostCentre, ""
		} else {
			p.State, p.MinistryKind = states[(i*10+1)%len(states)].code, directory.MinistryKinds[i%len(directory.MinistryKinds)]
		}
		f.Posts = append(f.Posts, p)
	}
	return f
}

func benchEnv(b *testing.B) *env {
	b.Helper()
	e := newEnv(b, testutil.Open(b, db.SQLite))
	if _, err := e.s.Import(sys(), benchFile(), directory.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkListPosts lists all 100 posts as a state-scoped officer, so
// contacts and heads of other states are withheld on the way.
func BenchmarkListPosts(b *testing.B) {
	e := benchEnv(b)
	ctx := as(statePostOfficer(e.stateID(b, "KZ")))
	b.ResetTimer()
	for b.Loop() {
		posts, _, err := e.s.ListPosts(ctx, directory.ListOptions{})
		if err != nil || len(posts) != 100 {
			b.Fatalf("%d posts, %v", len(posts), err)
		}
	}
}

// BenchmarkGetPerson reads one person (with positions) by code among 1000.
func BenchmarkGetPerson(b *testing.B) {
	e := benchEnv(b)
	ctx := as(centreOfficer())
	i := 0
	b.ResetTimer()
	for b.Loop() {
		p, err := e.s.GetPerson(ctx, fmt.Sprintf("person-%04d", i%1000))
		if err != nil || len(p.Positions) != 2 {
			b.Fatalf("%+v, %v", p, err)
		}
		i++
	}
}

// BenchmarkListPeopleSearch searches 1000 people by a Cyrillic word.
func BenchmarkListPeopleSearch(b *testing.B) {
	e := benchEnv(b)
	ctx := as(centreOfficer())
	b.ResetTimer()
	for b.Loop() {
		people, _, err := e.s.ListPeople(ctx, directory.ListOptions{Query: "СОТРУДНИК 99"})
		if err != nil || len(people) != 19 {
			b.Fatalf("%d people, %v", len(people), err)
		}
	}
}

// BenchmarkImportUnchanged re-imports the whole directory, which changes
// nothing: the cost of comparing a file with the database.
func BenchmarkImportUnchanged(b *testing.B) {
	e := benchEnv(b)
	f := benchFile()
	b.ResetTimer()
	for b.Loop() {
		rep, err := e.s.Import(sys(), f, directory.ImportOptions{})
		if err != nil || rep.Changed() != 0 {
			b.Fatalf("%+v, %v", rep, err)
		}
	}
}

// BenchmarkParseFile parses the 1000-person directory written as YAML and
// as JSON.
func BenchmarkParseFile(b *testing.B) {
	for _, format := range []string{"yaml", "json"} {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			if err := directory.WriteFile(&buf, benchFile(), format); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(buf.Len()))
			for b.Loop() {
				if _, err := directory.ParseFile(bytes.NewReader(buf.Bytes()), "bench."+format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
