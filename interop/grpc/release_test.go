package grpcinterop

import (
	"errors"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/frame"
)

// TestReleasedStreamResetAfterQueuedEnd: a goroutine-mode handler that
// completes its response and returns while the request is still open
// leaves the stream with RST_STREAM(NO_ERROR), as core.Conn.ReleaseStream
// documents (RFC 9113 §8.1) and grpc-go's server does — also when the
// response's END_STREAM is still queued at release (here: held back by the
// client's 16 KiB stream window). Found by this module: the request side
// used to stay open until the client ended it (fixed in core's sendEnd).
func TestReleasedStreamResetAfterQueuedEnd(t *testing.T) {
	returned := make(chan struct{})
	addr := startH2(t, h2.HandlerFunc(func(s *h2.Stream) {
		defer close(returned)
		_ = s.Respond(200, nil, make([]byte, 64<<10)) // more than the client's window
	}), nil)
	c := h2Client(t, addr, &h2.ClientOptions{Options: h2.Options{Config: core.Config{InitialWindowSize: 16 << 10}}})
	ctx := testCtx(t)
	s, err := c.Request(ctx, c.NewRequest("POST", "/"), nil) // request left open
	if err != nil {
		t.Fatal(err)
	}
	<-returned // the handler returned with END_STREAM still queued
	body, err := s.ReadAll()
	if err != nil || len(body) != 64<<10 {
		t.Fatalf("body: %d bytes, %v", len(body), err)
	}
	select {
	case <-s.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("no RST_STREAM(NO_ERROR) after the complete response: the request side stays open")
	}
	var se *core.StreamError
	if err := s.Err(); !errors.As(err, &se) || !se.Remote || se.Code != frame.ErrCodeNo {
		t.Fatalf("stream ended with %v, want the server's RST_STREAM(NO_ERROR)", err)
	}
}
