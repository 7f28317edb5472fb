package frame

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParse checks Parse's contract on arbitrary input: it never panics, it
// classifies every input as complete, incomplete or malformed consistently
// with the header, and a successfully parsed frame survives AppendFrame →
// Parse with the same fields. (Padding is re-encoded as zeros and undefined
// flag bits of known types are dropped, so fields are compared, not bytes.)
func FuzzParse(f *testing.F) {
	for _, g := range goldens {
		f.Add(g.wire, uint32(MinMaxFrameSize))
		f.Add(g.wire, uint32(len(g.wire)-HeaderLen))
	}
	for _, m := range malformedFrames {
		f.Add(m.wire, uint32(MinMaxFrameSize))
	}
	f.Add([]byte{}, uint32(0))
	f.Add(hx("000000 00 00 000000"), uint32(MinMaxFrameSize))

	f.Fuzz(func(t *testing.T, p []byte, maxFrameSize uint32) {
		fr, n, err := Parse(p, maxFrameSize)
		_ = fr.String() // must not panic on any frame Parse returns

		h, herr := ParseHeader(p)
		if herr != nil {
			if err != ErrNeedMore || n != 0 || len(p) >= HeaderLen {
				t.Fatalf("short input (%d bytes): n=%d err=%v", len(p), n, err)
			}
			return
		}
		frameLen := HeaderLen + int(h.Length)
		switch {
		case h.Length > maxFrameSize:
			if err != ErrFrameTooLarge || n != 0 || fr.Header != h {
				t.Fatalf("length %d > %d: n=%d err=%v header=%+v", h.Length, maxFrameSize, n, err, fr.Header)
			}
			return
		case len(p) < frameLen:
			if err != ErrNeedMore || n != 0 {
				t.Fatalf("incomplete frame (%d of %d bytes): n=%d err=%v", len(p), frameLen, n, err)
			}
			return
		}
		if n != frameLen {
			t.Fatalf("n = %d, want %d (err=%v)", n, frameLen, err)
		}
		if fr.Header != h {
			t.Fatalf("Header = %+v, want %+v", fr.Header, h)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e == ErrFrameTooLarge {
				t.Fatalf("complete frame: unexpected error %v", err)
			}
			if e.Stream && h.StreamID == 0 {
				t.Fatalf("stream error %s on stream 0", e.Token)
			}
			if !h.Type.Known() {
				t.Fatalf("unknown type %v rejected: %v", h.Type, err)
			}
			return
		}

		// A well-formed frame: re-encode and re-parse.
		enc := AppendFrame(nil, &fr)
		if len(enc) != n {
			t.Fatalf("re-encoded length %d, want %d\nin  %x\nout %x", len(enc), n, p[:n], enc)
		}
		fr2, n2, err := Parse(enc, maxFrameSize)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-parse: n=%d err=%v\nin  %x\nout %x", n2, err, p[:n], enc)
		}
		want := fr
		want.Flags &= definedFlags(want.Type)
		got := fr2
		got.Flags &= definedFlags(got.Type)
		if d := diffFrame(&got, &want); d != "" {
			t.Fatalf("re-parsed frame differs: %s\nin  %x\nout %x", d, p[:n], enc)
		}
		// After one normalisation the encoding is a fixed point.
		if enc2 := AppendFrame(nil, &fr2); !bytes.Equal(enc2, enc) {
			t.Fatalf("encoding not stable\n1st %x\n2nd %x", enc, enc2)
		}
		// Padding bounds hold for what Parse accepted.
		if fr.Padded && int(fr.PadLength) >= int(fr.Length) {
			t.Fatalf("PadLength %d >= Length %d", fr.PadLength, fr.Length)
		}
	})
}
