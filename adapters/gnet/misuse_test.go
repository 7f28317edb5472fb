package h2gnet

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

func TestMisuseReturnsErrors(t *testing.T) {
	if err := (&Server{}).ListenAndServe("127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "Handler") {
		t.Errorf("nil Handler: %v, want an error naming Handler", err)
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
		errs = append(errs, s.Reset(frame.ErrCodeCancel))
		errs = append(errs, s.OnEvent(nil)) // after the reset
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
	want := []error{nil, ErrAlreadyDetached, ErrStreamDone, nil, ErrStreamDone}
	for i := range want {
		if !errors.Is(errs[i], want[i]) {
			t.Errorf("probe %d: %v, want %v", i, errs[i], want[i])
		}
	}
}
