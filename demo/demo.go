// Package demo holds the demo organisation that `sitroom demo` loads.
//
// The demo data is an ordinary import file (org.yaml, decoded into
// directory.File exactly as `sitroom import` decodes any file), so it doubles
// as the documented example of the import format. It is modelled on a real
// regional organisation from public facts; apart from public office-holders
// in the positions history, every person, phone number, e-mail address and
// login in it is fictional.
package demo

import _ "embed"

//go:embed org.yaml
var orgYAML []byte

// OrgYAML returns the demo organisation as an import file (YAML). The caller
// gets its own copy.
func OrgYAML() []byte {
	return append([]byte(nil), orgYAML...)
}

// Password is the one password of every demo user (logins
// *@demo.sitroom.example in org.yaml). It is for demonstrations only: it is
// public, so never load the demo users into a system that holds real data.
const Password = "sitroom-demo"
