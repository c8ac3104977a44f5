package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"sitroom/internal/alert"
)

// mailJob is a claimed e-mail row with what its text needs, read in one
// query per claimed batch: e-mails are rendered when sent, from the alert
// row (never edited), so the queue row stays small and every retry renders
// the same message.
type mailJob struct {
	m            *message
	title, body  string
	priority     alert.Priority
	exercise     bool
	deadline     time.Time
	state        string
	endedAt      *time.Time
	endComment   string
	postID       string
	postCode     string
	postName     [2]string // en, ru
	postTZ       string
	personName   [2]string
	locale       string
	hasUser      bool
	payload      emailPayload
	senderDomain string
}

func (s *Sender) loadMailJobs(ctx context.Context, ms []*message) (map[string]*mailJob, error) {
	out := map[string]*mailJob{}
	if len(ms) == 0 {
		return out, nil
	}
	args := make([]any, len(ms))
	byID := map[string]*message{}
	for i, m := range ms {
		args[i] = m.ID
		byID[m.ID] = m
	}
	rows, err := s.n.db.Query(ctx, `SELECT o.id, a.title, a.body, a.priority, a.exercise, a.deadline_at, a.state, a.ended_at, a.end_comment,
		COALESCE(d.post_id, ''), COALESCE(p.code, ''), COALESCE(p.name_en, ''), COALESCE(p.name_ru, ''), COALESCE(p.tz, ''),
		COALESCE(pe.name_en, ''), COALESCE(pe.name_ru, ''), COALESCE(pe.languages, ''), COALESCE(u.locale, ''),
		CASE WHEN u.id IS NULL THEN FALSE ELSE u.active END
		FROM notify_outbound o JOIN alerts a ON a.id = o.alert_id
		LEFT JOIN deliveries d ON d.id = o.delivery_id LEFT JOIN posts p ON p.id = d.post_id
		LEFT JOIN people pe ON pe.id = o.person_id LEFT JOIN users u ON u.person_id = o.person_id
		WHERE o.id IN (`+ph(len(ms))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("load e-mails: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, languages string
		j := &mailJob{}
		var ended sql.NullTime
		if err := rows.Scan(&id, &j.title, &j.body, &j.priority, &j.exercise, &j.deadline, &j.state, &ended, &j.endComment,
			&j.postID, &j.postCode, &j.postName[0], &j.postName[1], &j.postTZ, &j.personName[0], &j.personName[1], &languages,
			&j.locale, &j.hasUser); err != nil {
			return nil, err
		}
		j.m = byID[id]
		j.deadline = j.deadline.UTC()
		if ended.Valid {
			t := ended.Time.UTC()
			j.endedAt = &t
		}
		if j.locale == "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(languages)), "ru") {
			j.locale = "ru"
		}
		_ = json.Unmarshal([]byte(j.m.Payload), &j.payload)
		out[id] = j
	}
	return out, rows.Err()
}

// texts is the e-mail catalogue; the subject's EXERCISE prefix and
// priority tags stay in English in every language, so that mail filters and
// gateways can key on them.
type texts struct {
	exerciseLine, priority, post, ackBefore, localTime, linkIntro, linkNote, noAccount,
	escalation, cancelled, closed, nothingMore, comment, alertID, footer string
	priorities map[alert.Priority]string
}

var catalogue = map[string]texts{
	"en": {
		exerciseLine: "EXERCISE — this is an exercise message.",
		priority:     "Priority",
		post:         "Post",
		ackBefore:    "Acknowledge before",
		localTime:    "local time of the post",
		linkIntro:    "To acknowledge for post %s, open this link and press the button on the page:",
		linkNote:     "Opening the link changes nothing; only the button acknowledges. The link is valid until %s.",
		noAccount:    "You have no account in sitroom: acknowledge by phone with the centre.",
		escalation:   "ESCALATION, level %d: post %s has not acknowledged this alert. You are reached as a step of its escalation path.",
		cancelled:    "The alert \"%s\" was CANCELLED at %s.",
		closed:       "The alert \"%s\" was CLOSED at %s.",
		nothingMore:  "Nothing more is required.",
		comment:      "Comment",
		alertID:      "Alert id",
		footer:       "sitroom — automatic message; replies are not read.",
		priorities:   map[alert.Priority]string{alert.Routine: "routine", alert.Urgent: "urgent", alert.Flash: "FLASH"},
	},
	"ru": {
		exerciseLine: "EXERCISE — УЧЕНИЯ: это учебное сообщение.",
		priority:     "Приоритет",
		post:         "Пост",
		ackBefore:    "Подтвердить до",
		localTime:    "местное время поста",
		linkIntro:    "Чтобы подтвердить получение за пост %s, откройте ссылку и нажмите кнопку на странице:",
		linkNote:     "Открытие ссылки ничего не меняет; подтверждает только кнопка. Ссылка действительна до %s.",
		noAccount:    "У вас нет учётной записи в sitroom: подтвердите получение по телефону через центр.",
		escalation:   "ЭСКАЛАЦИЯ, уровень %d: пост %s не подтвердил это оповещение. Вы оповещены как шаг цепочки эскалации.",
		cancelled:    "Оповещение «%s» ОТМЕНЕНО в %s.",
		closed:       "Оповещение «%s» ЗАКРЫТО в %s.",
		nothingMore:  "Больше ничего не требуется.",
		comment:      "Комментарий",
		alertID:      "Идентификатор оповещения",
		footer:       "sitroom — автоматическое сообщение; ответы не читаются.",
		priorities:   map[alert.Priority]string{alert.Routine: "обычный", alert.Urgent: "срочный", alert.Flash: "МОЛНИЯ"},
	},
}

func (j *mailJob) lang() (texts, int) {
	if j.locale == "ru" {
		return catalogue["ru"], 1
	}
	return catalogue["en"], 0
}

const utcLayout = "2006-01-02 15:04 UTC"

// subject is the Subject text (before encoding).
func (j *mailJob) subject() string {
	var b strings.Builder
	if j.exercise {
		b.WriteString("EXERCISE — ")
	}
	switch j.m.Purpose {
	case PurposeEnded:
		if j.payload.State == alert.StateClosed || (j.payload.State == "" && j.state == alert.StateClosed) {
			b.WriteString("[CLOSED] ")
		} else {
			b.WriteString("[CANCELLED] ")
		}
	default:
		b.WriteString("[" + strings.ToUpper(string(j.priority)) + "] ")
		if j.m.Purpose == PurposeEscalation {
			fmt.Fprintf(&b, "[ESCALATION %d] %s: ", j.payload.Level, j.postCode)
		}
	}
	b.WriteString(j.title)
	return strings.Join(strings.Fields(b.String()), " ")
}

// text is the plain-text body; for an exercise its first line says EXERCISE.
func (n *Notifier) mailText(j *mailJob) string {
	t, li := j.lang()
	var b strings.Builder
	line := func(s string) { b.WriteString(s); b.WriteString("\n") }
	if j.exercise {
		line(t.exerciseLine)
		line("")
	}
	if j.m.Purpose == PurposeEnded {
		at := j.m.CreatedAt
		if j.endedAt != nil {
			at = *j.endedAt
		}
		f := t.cancelled
		if j.payload.State == alert.StateClosed {
			f = t.closed
		}
		line(fmt.Sprintf(f, j.title, at.Format(utcLayout)) + " " + t.nothingMore)
		if j.endComment != "" {
			line(t.comment + ": " + j.endComment)
		}
		line("")
		line(t.alertID + ": " + j.m.AlertID)
		line("-- ")
		line(t.footer)
		return b.String()
	}
	if j.m.Purpose == PurposeEscalation {
		line(fmt.Sprintf(t.escalation, j.payload.Level, j.postCode))
		line("")
	}
	line("[" + strings.ToUpper(string(j.priority)) + "] " + j.title)
	line(t.priority + ": " + t.priorities[j.priority])
	line("")
	if strings.TrimSpace(j.body) != "" {
		line(strings.TrimRight(j.body, "\n"))
		line("")
	}
	postName := j.postName[li]
	if postName == "" {
		postName = j.postName[0]
	}
	line(t.post + ": " + j.postCode + " — " + postName)
	line(t.ackBefore + ": " + j.deadline.Format(utcLayout))
	local := inZone(j.deadline, j.postTZ)
	line(strings.Repeat(" ", len([]rune(t.ackBefore))+2) + local.Format("2006-01-02 15:04") + " " + zoneName(local, j.postTZ) + " (" + t.localTime + ")")
	line("")
	if j.hasUser && j.m.DeliveryID != "" && j.m.PersonID != "" {
		exp := n.linkExpiry(j.deadline, j.m.CreatedAt)
		line(fmt.Sprintf(t.linkIntro, j.postCode))
		line(n.AckURL(n.links.SignAckLink(j.m.DeliveryID, j.m.PersonID, exp)))
		line(fmt.Sprintf(t.linkNote, exp.UTC().Format(utcLayout)))
	} else {
		line(t.noAccount)
	}
	line("")
	line(t.alertID + ": " + j.m.AlertID)
	line("-- ")
	line(t.footer)
	return b.String()
}

func zoneName(t time.Time, tz string) string {
	off := t.Format("-07:00")
	if tz == "" || tz == "UTC" {
		return "UTC"
	}
	return tz + " (UTC" + off + ")"
}

// encodeHeader returns a header value safe to write: RFC 2047 encoded-words
// (base64, UTF-8) when it is not plain ASCII, folded between words so that
// no line grows past the limits of RFC 5322. Line breaks never survive.
func encodeHeader(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii && len(s) < 900 {
		return s
	}
	return strings.ReplaceAll(mime.BEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

// buildMessage assembles the RFC 5322 message of an e-mail job.
func (n *Notifier) buildMessage(j *mailJob, from *mail.Address) []byte {
	domain := "sitroom.invalid"
	if i := strings.LastIndexByte(from.Address, '@'); i >= 0 && i < len(from.Address)-1 {
		domain = from.Address[i+1:]
	}
	var h bytes.Buffer
	hdr := func(k, v string) { h.WriteString(k + ": " + v + "\r\n") }
	to := mail.Address{Address: j.m.Target}
	name := j.personName[0]
	if _, li := j.lang(); li == 1 && j.personName[1] != "" {
		name = j.personName[1]
	}
	to.Name = name
	hdr("From", from.String())
	hdr("To", to.String())
	hdr("Subject", encodeHeader(j.subject()))
	hdr("Date", j.m.CreatedAt.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+j.m.ID+"@"+domain+">")
	if j.payload.Ref != "" {
		hdr("In-Reply-To", "<"+j.payload.Ref+"@"+domain+">")
		hdr("References", "<"+j.payload.Ref+"@"+domain+">")
	}
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	if j.m.Purpose != PurposeEnded && (j.priority == alert.Flash || j.priority == alert.Urgent) {
		hdr("Importance", "high")
		hdr("X-Priority", "1")
	}
	hdr("Sitroom-Alert-Id", j.m.AlertID)
	if j.exercise {
		hdr("Sitroom-Exercise", "yes")
	}
	h.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&h)
	_, _ = qp.Write([]byte(n.mailText(j)))
	_ = qp.Close()
	return h.Bytes()
}
