package web

import (
	"encoding/binary"
	"testing"
)

// TestAlarmIsAPlayableWAV: the alarm is a PCM WAVE file a browser plays:
// RIFF header with consistent sizes, 16-bit mono, audible and not clipped;
// the probe sound is the same format and silent.
func TestAlarmIsAPlayableWAV(t *testing.T) {
	for name, tc := range map[string]struct {
		b      []byte
		silent bool
		minSec float64
	}{"alarm": {alarmWAV(), false, 0.5}, "silence": {silenceWAV(), true, 0.01}} {
		b := tc.b
		if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
			t.Fatalf("%s: not a WAVE file", name)
		}
		le := binary.LittleEndian
		if int(le.Uint32(b[4:8])) != len(b)-8 || int(le.Uint32(b[40:44])) != len(b)-44 {
			t.Errorf("%s: sizes in the header disagree with the file", name)
		}
		format, channels, rate, bits := le.Uint16(b[20:22]), le.Uint16(b[22:24]), le.Uint32(b[24:28]), le.Uint16(b[34:36])
		if format != 1 || channels != 1 || bits != 16 || le.Uint32(b[28:32]) != rate*2 || le.Uint16(b[32:34]) != 2 {
			t.Errorf("%s: format %d, %d channels, %d bits", name, format, channels, bits)
		}
		samples := (len(b) - 44) / 2
		if sec := float64(samples) / float64(rate); sec < tc.minSec || sec > 2 {
			t.Errorf("%s lasts %.2f s", name, sec)
		}
		peak := 0
		for i := 44; i+1 < len(b); i += 2 {
			v := int(int16(le.Uint16(b[i:])))
			if v < 0 {
				v = -v
			}
			peak = max(peak, v)
		}
		if tc.silent && peak != 0 || !tc.silent && (peak < 8000 || peak >= 32767) {
			t.Errorf("%s: peak %d", name, peak)
		}
	}
}
