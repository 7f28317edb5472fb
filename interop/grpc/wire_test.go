package grpcinterop

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"google.golang.org/grpc/codes"
)

func TestMessageFraming(t *testing.T) {
	var wire []byte
	msgs := [][]byte{nil, []byte("a"), pattern(70000)}
	for _, m := range msgs {
		wire = AppendMessage(wire, m)
	}
	if !bytes.Equal(wire[:HeaderLen], []byte{0, 0, 0, 0, 0}) || !bytes.Equal(wire[5:11], []byte{0, 0, 0, 0, 1, 'a'}) {
		t.Fatalf("prefix bytes % x", wire[:11])
	}
	// One byte at a time, as DATA may split a message anywhere.
	mr := NewMessageReader(iotestOneByte{bytes.NewReader(wire)}, 0)
	for i, want := range msgs {
		got, err := mr.Next()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("message %d: %d bytes, %v", i, len(got), err)
		}
	}
	if _, err := mr.Next(); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}

	for _, tc := range []struct {
		name string
		wire []byte
		max  int
		want error
	}{
		{"truncated prefix", []byte{0, 0, 0}, 0, ErrTruncated},
		{"truncated body", []byte{0, 0, 0, 0, 4, 'a'}, 0, ErrTruncated},
		{"compressed", []byte{1, 0, 0, 0, 1, 'a'}, 0, ErrCompressed},
		{"too large", []byte{0, 0, 0, 0, 9}, 8, &TooLargeError{}},
		{"huge length", []byte{0, 0xff, 0xff, 0xff, 0xff}, 0, &TooLargeError{}},
	} {
		_, err := NewMessageReader(bytes.NewReader(tc.wire), tc.max).Next()
		var tl *TooLargeError
		if _, isTL := tc.want.(*TooLargeError); isTL && errors.As(err, &tl) {
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

type iotestOneByte struct{ r io.Reader }

func (o iotestOneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		v string
		d time.Duration
	}{
		{"1n", 1}, {"100m", 100 * time.Millisecond}, {"5S", 5 * time.Second},
		{"2M", 2 * time.Minute}, {"1H", time.Hour}, {"99999999u", 99999999 * time.Microsecond},
		{"99999999H", 1<<63 - 1},
	} {
		d, err := ParseTimeout(tc.v)
		if err != nil || d != tc.d {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", tc.v, d, err, tc.d)
		}
	}
	for _, bad := range []string{"", "m", "1", "123456789S", "1x", "-1S", "+1S", "1.5S", "1s"} {
		if _, err := ParseTimeout(bad); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", bad)
		}
	}
	for _, d := range []time.Duration{1, time.Millisecond, 1500 * time.Millisecond, 40 * time.Hour, 1<<63 - 1} {
		v, err := FormatTimeout(d)
		if err != nil || len(v) > 9 {
			t.Fatalf("FormatTimeout(%v) = %q, %v", d, v, err)
		}
		back, err := ParseTimeout(v)
		if err != nil || back < d {
			t.Errorf("FormatTimeout(%v) = %q, parsed back as %v: shorter", d, v, back)
		}
	}
	if _, err := FormatTimeout(0); err == nil {
		t.Error("FormatTimeout(0) accepted")
	}
}

func TestStatusFields(t *testing.T) {
	msg := "héllo %zz 100%\r\n"
	enc := EncodeMessage(msg)
	for i := 0; i < len(enc); i++ {
		if enc[i] < 0x20 || enc[i] > 0x7e {
			t.Fatalf("encoded message %q has byte %#x", enc, enc[i])
		}
	}
	if got := DecodeMessage(enc); got != msg {
		t.Fatalf("round trip: %q", got)
	}
	if got := DecodeMessage("50%zz off%"); got != "50%zz off%" {
		t.Fatalf("bad escapes must pass through: %q", got)
	}
	st, ok := ParseStatus([]h2.HeaderField{{Name: "grpc-status", Value: "5"}, {Name: "grpc-message", Value: "gone%21"}})
	if !ok || st.Code() != codes.NotFound || st.Message() != "gone!" {
		t.Fatalf("ParseStatus: %v, %v", st, ok)
	}
	for _, fs := range [][]h2.HeaderField{nil, {{Name: "grpc-status", Value: "x"}}, {{Name: "grpc-status", Value: "-1"}}} {
		if _, ok := ParseStatus(fs); ok {
			t.Errorf("ParseStatus(%v) accepted", fs)
		}
	}
	if !strings.HasPrefix(Codec{}.Name(), "raw") {
		t.Fatal("codec name")
	}
}

func TestCodec(t *testing.T) {
	var c Codec
	in := []byte("abc")
	if b, err := c.Marshal(&in); err != nil || string(b) != "abc" {
		t.Fatal(b, err)
	}
	if _, err := c.Marshal("abc"); err == nil {
		t.Fatal("Marshal(string) accepted")
	}
	src := []byte("xyz")
	var out []byte
	if err := c.Unmarshal(src, &out); err != nil || string(out) != "xyz" {
		t.Fatal(out, err)
	}
	src[0] = 'Q'
	if string(out) != "xyz" {
		t.Fatal("Unmarshal kept the caller's buffer")
	}
	if err := c.Unmarshal(src, out); err == nil {
		t.Fatal("Unmarshal into a non-pointer accepted")
	}
}
