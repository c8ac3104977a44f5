package duty

import (
	"encoding/json"
	"time"
)

// Slot is the place a person fills on a post's shift.
type Slot string

const (
	Primary Slot = "primary"
	Deputy  Slot = "deputy"
)

// Valid tells whether s is a known slot.
func (s Slot) Valid() bool { return s == Primary || s == Deputy }

// Source says where a shift row came from; it decides precedence.
type Source string

const (
	FromRotation Source = "rotation"
	FromManual   Source = "manual"
	FromOverride Source = "override"
)

// rank orders sources for precedence: an override beats a manual shift,
// which beats a rotation row.
func (s Source) rank() int {
	switch s {
	case FromOverride:
		return 2
	case FromManual:
		return 1
	}
	return 0
}

// OverrideKind tells what an override does.
type OverrideKind string

const (
	// Swap: two people exchange two shifts (two override rows, one group).
	Swap OverrideKind = "swap"
	// Cover: a person takes all or part of another's shift.
	Cover OverrideKind = "cover"
)

// Name is a person's or post's name in both languages.
type Name struct {
	EN string `json:"en"`
	RU string `json:"ru"`
}

// Shift is one stored row.
type Shift struct {
	ID         string       `json:"id"`
	PostID     string       `json:"post_id"`
	PersonID   string       `json:"person_id"`
	PersonName Name         `json:"person_name"`
	Slot       Slot         `json:"slot"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
	Source     Source       `json:"source"`
	Kind       OverrideKind `json:"kind,omitempty"`
	RotationID string       `json:"rotation_id,omitempty"`
	// RefShiftID is the shift an override replaces (display only).
	RefShiftID string `json:"ref_shift_id,omitempty"`
	// GroupID pairs the two overrides of a swap.
	GroupID   string    `json:"group_id,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Segment is a stretch of time during which one row is the one in force for
// its post and slot (after precedence). A row beaten for part of its time
// yields several segments, numbered by Part from 0.
type Segment struct {
	ShiftID    string       `json:"shift_id"`
	Part       int          `json:"part"`
	PostID     string       `json:"post_id"`
	PersonID   string       `json:"person_id"`
	PersonName Name         `json:"person_name"`
	Slot       Slot         `json:"slot"`
	Start      time.Time    `json:"start"`
	End        time.Time    `json:"end"`
	Source     Source       `json:"source"`
	Kind       OverrideKind `json:"kind,omitempty"`
}

// ShiftInput is a manual shift as entered.
type ShiftInput struct {
	PostID   string    `json:"post_id"`
	PersonID string    `json:"person_id"`
	Slot     Slot      `json:"slot"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Note     string    `json:"note"`
}

// CoverInput asks that PersonID take over shift ShiftID from Start to End.
// Zero Start means "from the shift's start, or now if it has started"; zero
// End means "to the shift's end".
type CoverInput struct {
	ShiftID  string    `json:"shift_id"`
	PersonID string    `json:"person_id"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Note     string    `json:"note"`
}

// Rotation is a stored rotation rule.
type Rotation struct {
	ID     string `json:"id"`
	PostID string `json:"post_id"`
	Name   string `json:"name"`
	Slot   Slot   `json:"slot"`
	// Handovers are local wall times 'HH:MM', ascending: one for 24-hour
	// shifts, two for day/night shifts, and so on.
	Handovers []string `json:"handovers"`
	TZ        string   `json:"tz"`
	StartDate string   `json:"start_date"` // YYYY-MM-DD in TZ
	Team      []string `json:"team"`       // people ids, in turn order
	// GeneratedTo is the end of the last generated shift.
	GeneratedTo *time.Time `json:"generated_to,omitempty"`
	ActiveTo    *time.Time `json:"active_to,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// RotationInput is a rotation as entered. TZ defaults to the post's zone.
type RotationInput struct {
	PostID    string   `json:"post_id"`
	Name      string   `json:"name"`
	Slot      Slot     `json:"slot"`
	Handovers []string `json:"handovers"`
	TZ        string   `json:"tz"`
	StartDate string   `json:"start_date"`
	Team      []string `json:"team"`
}

// OnDutyEntry is a person on duty at a post at an instant, overrides
// applied. Start and End bound the stretch during which they hold the slot
// (their row, cut by any row that beats it).
type OnDutyEntry struct {
	PersonID string
	Name     Name
	UserID   string // "" when the person has no active user
	Login    string // the user's login, or ""
	Slot     Slot
	Start    time.Time
	End      time.Time
	ShiftID  string
	Source   Source
	// Email and Phone are the person's channels (for the engine; not in JSON).
	Email string
	Phone string
}

// MarshalJSON gives the shape of GET /api/v1/duty/now:
// {"person_id","name":{"en","ru"},"login" (null without a user),"slot","start","end"}.
func (e OnDutyEntry) MarshalJSON() ([]byte, error) {
	var login *string
	if e.Login != "" {
		login = &e.Login
	}
	return json.Marshal(struct {
		PersonID string    `json:"person_id"`
		Name     Name      `json:"name"`
		Login    *string   `json:"login"`
		Slot     Slot      `json:"slot"`
		Start    time.Time `json:"start"`
		End      time.Time `json:"end"`
	}{e.PersonID, e.Name, login, e.Slot, e.Start.UTC(), e.End.UTC()})
}

// DutyNow is the "who is on duty now" board; it marshals as the body of
// GET /api/v1/duty/now: {"items":[{"post":{…},"on_duty":[…]}]}.
type DutyNow struct {
	Items []BoardItem `json:"items"`
}

// BoardItem is one post on the board.
type BoardItem struct {
	Post   BoardPost     `json:"post"`
	OnDuty []OnDutyEntry `json:"on_duty"`
}

// BoardPost is what the board shows of a post, with the post's local time
// at the board's instant.
type BoardPost struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Kind         string `json:"kind"`
	NameEN       string `json:"name_en"`
	NameRU       string `json:"name_ru"`
	StateID      string `json:"state_id,omitempty"`
	State        string `json:"state,omitempty"` // member state's code
	MinistryKind string `json:"ministry_kind,omitempty"`
	TZ           string `json:"tz"`
	// LocalTime is the board's instant in the post's zone (RFC 3339 with
	// the zone's offset), UTCOffset that offset ("+05:00").
	LocalTime string `json:"local_time"`
	UTCOffset string `json:"utc_offset"`
	// HeadPersonID is the head of post, if any.
	HeadPersonID string `json:"head_person_id,omitempty"`
}

// Interval is a half-open stretch of time [Start, End).
type Interval struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PostGaps lists the intervals in which a post has nobody on duty.
type PostGaps struct {
	PostID string     `json:"post_id"`
	Code   string     `json:"code"`
	NameEN string     `json:"name_en"`
	NameRU string     `json:"name_ru"`
	TZ     string     `json:"tz"`
	Gaps   []Interval `json:"gaps"`
}

// HandoverNote is a note an officer left at a post for the next shift.
type HandoverNote struct {
	ID             string     `json:"id"`
	PostID         string     `json:"post_id"`
	AuthorPersonID string     `json:"author_person_id,omitempty"`
	AuthorName     Name       `json:"author_name"`
	Author         string     `json:"author"` // the actor's label
	Slot           Slot       `json:"slot,omitempty"`
	Body           string     `json:"body"`
	CreatedAt      time.Time  `json:"created_at"`
	ReadAt         *time.Time `json:"read_at"` // by the caller
}

// Target is whom an escalation level reaches.
type Target string

const (
	TargetPrimary Target = "primary"        // the post's on-duty primary
	TargetDeputy  Target = "deputy"         // the post's on-duty deputy
	TargetHead    Target = "head"           // the head of post
	TargetPerson  Target = "person"         // a named person
	TargetCentre  Target = "centre_officer" // whoever is on duty at the centre posts
)

// Valid tells whether t is a known target.
func (t Target) Valid() bool {
	switch t {
	case TargetPrimary, TargetDeputy, TargetHead, TargetPerson, TargetCentre:
		return true
	}
	return false
}

// EscalationTarget is one target of a level.
type EscalationTarget struct {
	Target   Target `json:"target"`
	PersonID string `json:"person_id,omitempty"` // TargetPerson only
}

// EscalationLevel is one level of a path. Level 0 fires at once, level 1 at
// the alert's deadline, each later level DelaySeconds after the one before.
type EscalationLevel struct {
	Level        int                `json:"level"`
	Targets      []EscalationTarget `json:"targets"`
	DelaySeconds int                `json:"delay_seconds"`
}

// EscalationPath is a post's path; Default is set when the post has none of
// its own and DefaultPath applies.
type EscalationPath struct {
	PostID  string            `json:"post_id"`
	Default bool              `json:"default"`
	Levels  []EscalationLevel `json:"levels"`
}

// Recipient is a person an escalation level reaches, with the channels the
// engine may use.
type Recipient struct {
	PersonID string
	Name     Name
	UserID   string // "" when the person cannot sign in
	Login    string
	Email    string
	Phone    string
	// Target is why they are reached; PostID is the post whose duty or
	// head made them a recipient (a centre post for TargetCentre).
	Target Target
	PostID string
}

// Step is a level of a post's path as it applies at an instant.
type Step struct {
	Level  int
	Exists bool
	// Delay is how long after the previous level this one fires (zero for
	// levels 0 and 1).
	Delay      time.Duration
	Recipients []Recipient
}

// FeedToken describes an iCalendar feed token (never the token itself).
type FeedToken struct {
	ID         string     `json:"id"`
	PersonID   string     `json:"person_id"`
	Prefix     string     `json:"prefix"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// NewFeedToken is a freshly created feed token: Token goes into the feed
// URL and is shown this once.
type NewFeedToken struct {
	FeedToken
	Token string `json:"token"`
}
