package directory

import "time"

// Status of a member state's participation, dated.
type Status string

const (
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusWithdrawn Status = "withdrawn"
)

// StatusChange is one dated entry of a member state's status history.
type StatusChange struct {
	Status    Status `json:"status" yaml:"status"`
	ValidFrom string `json:"valid_from" yaml:"valid_from"` // YYYY-MM-DD
	Note      string `json:"note,omitempty" yaml:"note,omitempty"`
}

// MemberState is a state of the organisation. Code is its ISO 3166 alpha-2
// code and never changes.
type MemberState struct {
	ID           string         `json:"id" yaml:"-"`
	Code         string         `json:"code" yaml:"code"`
	NameEN       string         `json:"name_en" yaml:"name_en"`
	NameRU       string         `json:"name_ru" yaml:"name_ru"`
	TZ           string         `json:"tz" yaml:"tz"`                                           // IANA zone, e.g. Asia/Almaty
	WorkingHours string         `json:"working_hours,omitempty" yaml:"working_hours,omitempty"` // e.g. "Mon-Fri 09:00-18:00", local to TZ
	Status       Status         `json:"status" yaml:"-"`                                        // in force today (derived from History)
	History      []StatusChange `json:"status_history" yaml:"status_history,omitempty"`
	ActiveTo     *time.Time     `json:"active_to,omitempty" yaml:"active_to,omitempty"`
	CreatedAt    time.Time      `json:"created_at" yaml:"-"`
	UpdatedAt    time.Time      `json:"updated_at" yaml:"-"`
}

// BodyKind classifies bodies.
type BodyKind string

const (
	BodyCouncil      BodyKind = "council"
	BodySecretariat  BodyKind = "secretariat"
	BodyStaff        BodyKind = "staff"
	BodyCentre       BodyKind = "centre"
	BodyWorkingGroup BodyKind = "working_group"
	BodyPressCentre  BodyKind = "press_centre"
	BodyPartner      BodyKind = "partner"
	BodyMinistry     BodyKind = "ministry"
	BodyOther        BodyKind = "other"
)

// BodyKinds lists the kinds in display order.
var BodyKinds = []BodyKind{BodyCouncil, BodySecretariat, BodyStaff, BodyCentre, BodyWorkingGroup, BodyPressCentre, BodyMinistry, BodyPartner, BodyOther}

// Body is an organ of the organisation, a member state's ministry, or a
// partner organisation.
type Body struct {
	ID           string     `json:"id" yaml:"-"`
	Code         string     `json:"code" yaml:"code"`
	Kind         BodyKind   `json:"kind" yaml:"kind"`
	NameEN       string     `json:"name_en" yaml:"name_en"`
	NameRU       string     `json:"name_ru" yaml:"name_ru"`
	ShortEN      string     `json:"short_en,omitempty" yaml:"short_en,omitempty"`
	ShortRU      string     `json:"short_ru,omitempty" yaml:"short_ru,omitempty"`
	ParentID     string     `json:"parent_id,omitempty" yaml:"-"`
	Parent       string     `json:"parent,omitempty" yaml:"parent,omitempty"` // parent body's code
	StateID      string     `json:"state_id,omitempty" yaml:"-"`
	State        string     `json:"state,omitempty" yaml:"state,omitempty"` // member state's code
	TZ           string     `json:"tz,omitempty" yaml:"tz,omitempty"`
	WorkingHours string     `json:"working_hours,omitempty" yaml:"working_hours,omitempty"`
	ActiveTo     *time.Time `json:"active_to,omitempty" yaml:"active_to,omitempty"`
	CreatedAt    time.Time  `json:"created_at" yaml:"-"`
	UpdatedAt    time.Time  `json:"updated_at" yaml:"-"`
}

// PostKind: the organisation's centre desk, or a member state's ministry.
type PostKind string

const (
	PostCentre   PostKind = "centre"
	PostMinistry PostKind = "ministry"
)

// MinistryKinds a post may belong to; alerts are addressed by them.
var MinistryKinds = []string{"defence", "emergency", "interior", "foreign", "security_council", "border", "health", "other"}

// Contact is one channel to reach a post.
type Contact struct {
	Kind  string `json:"kind" yaml:"kind"` // phone, email, fax, radio, secure_line, other
	Value string `json:"value" yaml:"value"`
	Note  string `json:"note,omitempty" yaml:"note,omitempty"`
}

// ContactKinds lists the accepted contact kinds.
var ContactKinds = []string{"phone", "email", "fax", "radio", "secure_line", "other"}

// Post is a point of contact that must answer around the clock.
type Post struct {
	ID           string     `json:"id" yaml:"-"`
	Code         string     `json:"code" yaml:"code"`
	Kind         PostKind   `json:"kind" yaml:"kind"`
	NameEN       string     `json:"name_en" yaml:"name_en"`
	NameRU       string     `json:"name_ru" yaml:"name_ru"`
	StateID      string     `json:"state_id,omitempty" yaml:"-"`
	State        string     `json:"state,omitempty" yaml:"state,omitempty"` // member state's code; empty for the organisation's own posts
	BodyID       string     `json:"body_id,omitempty" yaml:"-"`
	Body         string     `json:"body,omitempty" yaml:"body,omitempty"` // body's code
	MinistryKind string     `json:"ministry_kind,omitempty" yaml:"ministry_kind,omitempty"`
	TZ           string     `json:"tz" yaml:"tz,omitempty"`             // defaults to the state's zone
	Contacts     []Contact  `json:"contacts" yaml:"contacts,omitempty"` // withheld (nil) from callers who may not see the state's contacts
	HeadPersonID string     `json:"head_person_id,omitempty" yaml:"-"`
	Head         string     `json:"head,omitempty" yaml:"head,omitempty"` // person's code
	ActiveTo     *time.Time `json:"active_to,omitempty" yaml:"active_to,omitempty"`
	CreatedAt    time.Time  `json:"created_at" yaml:"-"`
	UpdatedAt    time.Time  `json:"updated_at" yaml:"-"`
}

// Position is an office a person held, kept as history.
type Position struct {
	ID        string `json:"id" yaml:"-"`
	PersonID  string `json:"person_id" yaml:"-"`
	BodyID    string `json:"body_id,omitempty" yaml:"-"`
	Body      string `json:"body,omitempty" yaml:"body,omitempty"`
	TitleEN   string `json:"title_en" yaml:"title_en"`
	TitleRU   string `json:"title_ru" yaml:"title_ru"`
	StartDate string `json:"start_date" yaml:"start"` // YYYY-MM-DD, or YYYY-MM (first of month)
	EndDate   string `json:"end_date,omitempty" yaml:"end,omitempty"`
	Acting    bool   `json:"acting" yaml:"acting,omitempty"`
}

// Person is a member of staff. Email, phone and positions are withheld from
// callers who may not see the person's member state.
type Person struct {
	ID        string     `json:"id" yaml:"-"`
	Code      string     `json:"code" yaml:"code"`
	NameEN    string     `json:"name_en" yaml:"name_en"`
	NameRU    string     `json:"name_ru" yaml:"name_ru"`
	Email     string     `json:"email,omitempty" yaml:"email,omitempty"`
	Phone     string     `json:"phone,omitempty" yaml:"phone,omitempty"`
	Languages []string   `json:"languages" yaml:"languages,omitempty"` // e.g. ["ru","en"]
	StateID   string     `json:"state_id,omitempty" yaml:"-"`
	State     string     `json:"state,omitempty" yaml:"state,omitempty"`
	BodyID    string     `json:"body_id,omitempty" yaml:"-"`
	Body      string     `json:"body,omitempty" yaml:"body,omitempty"`
	Positions []Position `json:"positions" yaml:"positions,omitempty"`
	ActiveTo  *time.Time `json:"active_to,omitempty" yaml:"active_to,omitempty"`
	CreatedAt time.Time  `json:"created_at" yaml:"-"`
	UpdatedAt time.Time  `json:"updated_at" yaml:"-"`
}

// FileUser is a user account in an import file: a person (by code) who may
// sign in, with roles written ROLE or ROLE:SCOPE (SCOPE a state or post code).
// Passwords are never imported or exported; the demo sets them itself.
type FileUser struct {
	Person string   `json:"person" yaml:"person"`
	Login  string   `json:"login" yaml:"login"`
	Locale string   `json:"locale,omitempty" yaml:"locale,omitempty"`
	Roles  []string `json:"roles" yaml:"roles"`
}

// File is the whole directory as one YAML or JSON document, keyed by code:
// what `sitroom import` reads and `sitroom export` writes.
type File struct {
	Organisation OrgInfo       `json:"organisation" yaml:"organisation"`
	MemberStates []MemberState `json:"member_states" yaml:"member_states"`
	Bodies       []Body        `json:"bodies" yaml:"bodies"`
	People       []Person      `json:"people" yaml:"people"`
	Posts        []Post        `json:"posts" yaml:"posts"`
	Users        []FileUser    `json:"users,omitempty" yaml:"users,omitempty"`

	// src remembers where a parsed file came from and the line of every
	// record and field, so errors found after parsing still name the line.
	// Nil for a File built in code.
	src *fileSource
}

// OrgInfo names the organisation running this installation.
type OrgInfo struct {
	NameEN  string `json:"name_en" yaml:"name_en"`
	NameRU  string `json:"name_ru" yaml:"name_ru"`
	ShortEN string `json:"short_en,omitempty" yaml:"short_en,omitempty"`
	ShortRU string `json:"short_ru,omitempty" yaml:"short_ru,omitempty"`
	TZ      string `json:"tz" yaml:"tz"` // the organisation's headquarters zone
}
