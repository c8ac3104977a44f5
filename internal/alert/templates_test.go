package alert_test

import (
	"testing"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func daily() alert.TemplateInput {
	return alert.TemplateInput{Code: "daily-check", NameEN: "Daily communication check", NameRU: "Ежедневная проверка связи",
		Title: "Communication check", Body: "Acknowledge on receipt.", Priority: alert.Routine, AckWithinSeconds: 300,
		Exercise: true, Targets: alert.Targets{All: true}}
}

// The centre keeps templates; administrators read them; nobody else sees
// them; a code is unique and never changes; every change is audited.
func TestTemplatesAreTheCentresAndAudited(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		tpl, err := w.s.CreateTemplate(as("centre"), daily())
		if err != nil {
			t.Fatal(err)
		}
		if tpl.ID == "" || tpl.Code != "daily-check" || !tpl.Targets.All || !tpl.Exercise {
			t.Fatalf("created %+v", tpl)
		}
		for _, who := range []string{"admin", "kz1", "token-kzmod"} {
			if _, err := w.s.CreateTemplate(as(who), alert.TemplateInput{Code: "x", NameEN: "x", Title: "x", AckWithinSeconds: 60}); !apperr.Is(err, apperr.KindForbidden) {
				t.Errorf("%s creates a template: %v", who, err)
			}
			if err := w.s.DeleteTemplate(as(who), "daily-check"); !apperr.Is(err, apperr.KindForbidden) {
				t.Errorf("%s deletes a template: %v", who, err)
			}
		}
		if _, err := w.s.Template(as("admin"), "daily-check"); err != nil {
			t.Errorf("admin reads: %v", err)
		}
		if _, err := w.s.Templates(as("kz1")); !apperr.Is(err, apperr.KindForbidden) {
			t.Errorf("a post officer lists templates: %v", err)
		}
		if _, err := w.s.CreateTemplate(as("centre"), daily()); !apperr.Is(err, apperr.KindConflict) {
			t.Errorf("duplicate code: %v", err)
		}
		bad := daily()
		bad.Code, bad.Title, bad.Priority, bad.AckWithinSeconds = "no spaces", "", "loud", 5
		bad.Targets.States = []string{"KZ"}
		_, err = w.s.CreateTemplate(as("centre"), bad)
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindInvalid || len(e.Fields) != 5 {
			t.Fatalf("bad template: %v", err)
		}

		in := daily()
		in.Title = "Communication check (new wording)"
		up, err := w.s.UpdateTemplate(as("centre"), tpl.ID, in)
		if err != nil || up.Title != in.Title || !up.CreatedAt.Equal(tpl.CreatedAt) {
			t.Fatalf("update: %v %+v", err, up)
		}
		in.Code = "renamed"
		if _, err := w.s.UpdateTemplate(as("centre"), "daily-check", in); !apperr.Is(err, apperr.KindInvalid) {
			t.Errorf("code changed: %v", err)
		}
		before := count(t, d, "SELECT COUNT(*) FROM audit_log")
		in.Code = ""
		if _, err := w.s.UpdateTemplate(as("centre"), "daily-check", in); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM audit_log"); n != before {
			t.Errorf("an unchanged template was written (%d audit entries, %d before)", n, before)
		}
		if err := w.s.DeleteTemplate(as("centre"), "daily-check"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Template(as("centre"), "daily-check"); !apperr.Is(err, apperr.KindNotFound) {
			t.Errorf("deleted template: %v", err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'alert.template.%'"); n != 3 {
			t.Errorf("%d audit entries for templates, want 3", n)
		}
	})
}
