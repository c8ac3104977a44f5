package web

import (
	"sort"
	"time"
)

// commonZones are offered as suggestions in zone fields and as the choices
// of the profile's zone: the zones of the region the organisations sitroom
// is made for work in, and a few world capitals. Any IANA name is accepted
// where the field is free text; this is not a rule.
var commonZones = []string{
	"UTC",
	"Europe/Kaliningrad", "Europe/Minsk", "Europe/Moscow", "Europe/Samara", "Europe/Volgograd",
	"Asia/Yerevan", "Asia/Baku", "Asia/Tbilisi",
	"Asia/Almaty", "Asia/Aqtau", "Asia/Aqtobe", "Asia/Oral", "Asia/Qostanay", "Asia/Qyzylorda",
	"Asia/Bishkek", "Asia/Dushanbe", "Asia/Tashkent", "Asia/Ashgabat", "Asia/Kabul",
	"Asia/Yekaterinburg", "Asia/Omsk", "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk",
	"Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan", "Asia/Kamchatka",
	"Asia/Shanghai", "Asia/Tehran", "Asia/Dubai", "Asia/Kolkata", "Asia/Ulaanbaatar",
	"Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Vienna", "Europe/Geneva",
	"Europe/Kyiv", "Europe/Istanbul", "Europe/Warsaw", "Europe/Helsinki",
	"America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo",
	"Africa/Cairo", "Africa/Johannesburg", "Australia/Sydney",
}

// validZones is commonZones less any name this binary cannot load (the
// embedded database makes that none, but a name list must not lie).
func validZones() []string {
	out := make([]string, 0, len(commonZones))
	for _, z := range commonZones {
		if _, err := time.LoadLocation(z); err == nil {
			out = append(out, z)
		}
	}
	sort.Strings(out[1:])
	return out
}
