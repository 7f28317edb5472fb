package h2gnet

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

func TestMisuseReturnsErrors(t *testing.T) {
	if err := (&Server{}).ListenAndServe("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "Handler") {
		t.Errorf("nil Handler: %v, want an error naming Handler", err)
	}
	for _, srv := range []*Server{
		{Handler: testHandler{}, Loops: -1},
		{Handler: testHandler{}, WriteTimeout: -1},
		{Handler: testHandler{}, CloseTimeout: -time.Second},
	} {
		err := srv.ListenAndServe("127.0.0.1:0")
		if err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("negative knob: %v, want an error naming it", err)
		}
	}
	bad := &Server{Handler: testHandler{}, Config: core.Config{MaxFrameSize: 100}}
	if err := bad.ListenAndServe("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "Config") {
		t.Errorf("invalid Config: %v, want an error naming Config", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := (&Server{Handler: testHandler{}}).ListenAndServe(l.Addr().String()); err == nil {
		t.Error("ListenAndServe on a port in use succeeded")
	}

	// Stream misuse, on the loop.
	results := make(chan []error, 1)
	probe := func(s Stream, req *Request) bool {
		if req.Path != "/probe" {
			return false
		}
		var errs []error
		_, err := s.Detach()
		errs = append(errs, err)
		_, err = s.Detach()
		errs = append(errs, err)                                // twice
		errs = append(errs, Stream{s.c, s.id + 2}.OnEvent(nil)) // unknown stream
		// The Detached handle owns the stream: the Stream's methods refuse.
		errs = append(errs, s.Reset(frame.ErrCodeCancel))
		errs = append(errs, s.OnEvent(nil))
		errs = append(errs, s.Respond(200, nil, nil))
		_, err = s.Write([]byte("x"))
		errs = append(errs, err)
		results <- errs
		return true
	}
	addr := startServer(t, &Server{Handler: testHandler{extra: probe}})
	c := dial(t, addr)
	_, err = c.Request(testCtx(t), c.NewRequest("GET", "/probe"), nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := <-results
	want := []error{nil, ErrAlreadyDetached, ErrStreamDone, ErrAlreadyDetached, ErrAlreadyDetached, ErrAlreadyDetached, ErrAlreadyDetached}
	for i := range want {
		if !errors.Is(errs[i], want[i]) {
			t.Errorf("probe %d: %v, want %v", i, errs[i], want[i])
		}
	}
}

// TestZeroValues: methods of a zero Stream or Detached fail with
// ErrZeroStream rather than dereferencing nil.
func TestZeroValues(t *testing.T) {
	var s Stream
	_, werr := s.Write(nil)
	_, derr := s.Detach()
	for i, err := range []error{
		s.Respond(200, nil, nil), s.WriteHeaders(200, nil, true), werr, s.CloseWrite(),
		s.WriteTrailers(nil), s.Reset(frame.ErrCodeCancel), s.OnEvent(nil),
		s.SetManualConsume(), s.Consume(1), derr,
	} {
		if !errors.Is(err, ErrZeroStream) {
			t.Errorf("Stream{} call %d: %v, want ErrZeroStream", i, err)
		}
	}
	if s.Request() != nil {
		t.Error("Stream{}.Request() is not nil")
	}
	var d Detached
	_, werr = d.Write([]byte("x"))
	_, rerr := d.Read(make([]byte, 1))
	for i, err := range []error{
		d.Respond(200, nil, nil), d.WriteHeaders(200, nil, true), werr, d.CloseWrite(),
		d.WriteTrailers(nil), d.Reset(frame.ErrCodeCancel), d.Close(), rerr,
	} {
		if !errors.Is(err, ErrZeroStream) {
			t.Errorf("Detached{} call %d: %v, want ErrZeroStream", i, err)
		}
	}
}
