package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/h2proto/h2/core/frame"
	"golang.org/x/net/http2/hpack"
)

// tracer prints the frames flowing in one direction, one per line, with the
// decoded fields of field blocks, in the spirit of nghttp -v. It keeps its
// own HPACK decoder per direction, as a passive observer must.
type tracer struct {
	w      io.Writer
	start  time.Time
	label  string
	buf    []byte // bytes not yet forming a whole frame
	magic  int    // client preface bytes still expected
	dec    *hpack.Decoder
	fields []string
	frames int
}

func newTracer(w io.Writer, start time.Time, label string, magic bool) *tracer {
	t := &tracer{w: w, start: start, label: label}
	if magic {
		t.magic = len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	}
	t.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		t.fields = append(t.fields, f.Name+": "+f.Value)
	})
	return t
}

// observe reports bytes sent at now.
func (t *tracer) observe(now time.Time, p []byte) {
	t.buf = append(t.buf, p...)
	if t.magic > 0 && len(t.buf) >= t.magic {
		t.line(now, "connection preface %q", t.buf[:t.magic])
		t.buf = t.buf[t.magic:]
		t.magic = 0
	}
	for t.magic == 0 {
		f, n, err := frame.Parse(t.buf, frame.MaxMaxFrameSize)
		if err != nil {
			break
		}
		t.frames++
		t.line(now, "%s", f.String())
		switch f.Type {
		case frame.TypeHeaders, frame.TypeContinuation:
			t.fields = t.fields[:0]
			_, _ = t.dec.Write(f.Data)
			if f.EndHeaders() {
				_ = t.dec.Close()
			}
			for _, fl := range t.fields {
				t.detail("%s", fl)
			}
		case frame.TypeData:
			if len(f.Data) > 0 {
				t.detail("%q", clip(f.Data, 60))
			}
		}
		t.buf = t.buf[n:]
	}
}

func (t *tracer) line(now time.Time, format string, args ...any) {
	fmt.Fprintf(t.w, "[%7.3f] %s %s\n", now.Sub(t.start).Seconds(), t.label, fmt.Sprintf(format, args...))
}

func (t *tracer) detail(format string, args ...any) {
	fmt.Fprintf(t.w, "%s%s\n", strings.Repeat(" ", 28), fmt.Sprintf(format, args...))
}

func clip(p []byte, n int) string {
	if len(p) <= n {
		return string(p)
	}
	return string(p[:n]) + "…"
}
