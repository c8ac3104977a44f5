package web

import (
	"bytes"
	"encoding/binary"
	"math"
)

// alarmWAV synthesises the alarm that an incoming alert plays until it is
// acknowledged: 0.9 s of two alternating tones (880 Hz and 1320 Hz, three
// times each, 150 ms apiece) with short fades so the edges do not click,
// as 16-bit mono PCM at 16 kHz in a RIFF/WAVE container. It is made here
// rather than shipped as a recording so that its source is readable and
// its licence is ours; every browser since IE 9 plays this format.
func alarmWAV() []byte {
	return wav(alarmPCM(), 16000)
}

// silenceWAV is 50 ms of silence: played at load and in the arming click,
// it asks the browser whether this page may play sound, without a sound.
func silenceWAV() []byte { return wav(make([]int16, 800), 16000) }

func alarmPCM() []int16 {
	const (
		rate    = 16000
		toneLen = rate * 150 / 1000 // samples per tone
		tones   = 6
		fade    = rate * 8 / 1000 // 8 ms fade in and out
		amp     = 0.55 * math.MaxInt16
	)
	n := toneLen * tones
	pcm := make([]int16, n)
	for i := 0; i < n; i++ {
		k := i / toneLen
		j := i % toneLen
		f := 880.0
		if k%2 == 1 {
			f = 1320.0
		}
		env := 1.0
		if j < fade {
			env = float64(j) / fade
		} else if toneLen-j < fade {
			env = float64(toneLen-j) / fade
		}
		// A touch of the third harmonic makes it cut through a room
		// better than a pure sine.
		t := float64(i) / rate
		v := math.Sin(2*math.Pi*f*t) + 0.25*math.Sin(2*math.Pi*3*f*t)
		pcm[i] = int16(amp * env * v / 1.25)
	}
	return pcm
}

// wav wraps 16-bit mono samples in a RIFF/WAVE container.
func wav(pcm []int16, rate int) []byte {
	n := len(pcm)
	var b bytes.Buffer
	data := uint32(n * 2)
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, 36+data)
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, data)
	_ = binary.Write(&b, binary.LittleEndian, pcm)
	return b.Bytes()
}
