package apptest

// Logins of the demo users, one per role, for tests. Their password is
// demo.Password.
const (
	Admin       = "admin@demo.sitroom.example"       // admin (global)
	Supervisor  = "supervisor@demo.sitroom.example"  // centre_supervisor
	Supervisor2 = "supervisor2@demo.sitroom.example" // centre_supervisor (a second one)
	Officer     = "officer@demo.sitroom.example"     // centre_officer
	KZHead      = "kz.head@demo.sitroom.example"     // post_head of KZ-MOD-CP (Kazakhstan)
	KZOfficer   = "kz.officer@demo.sitroom.example"  // post_officer of KZ (the whole state)
	BYOfficer   = "by.officer@demo.sitroom.example"  // post_officer of BY-MES-CP (Belarus)
	Planner     = "planner@demo.sitroom.example"     // planner
	Press       = "press@demo.sitroom.example"       // press
	Viewer      = "viewer@demo.sitroom.example"      // viewer
	Auditor     = "auditor@demo.sitroom.example"     // auditor
)
