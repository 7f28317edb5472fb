package h3

import (
	"errors"
	"fmt"

	h2 "github.com/h2proto/h2"
)

// ErrNotSupported is wrapped by the errors of operations the HTTP/2
// runtime offers but quic-go's http3 package cannot express; the wrapping
// error says which and why (see docs/adapters-h3.md). Nothing was sent
// unless the error says otherwise.
var ErrNotSupported = errors.New("h3: not supported over quic-go http3")

// notSupported returns an error wrapping ErrNotSupported with a reason.
func notSupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotSupported}, args...)...)
}

// The runtime's sentinels are reused, so that errors.Is checks written for
// package h2 hold over HTTP/3 too.
var (
	// ErrHandlerSet: the pull API was used while a handler takes the events.
	ErrHandlerSet = h2.ErrHandlerSet
	// ErrServerClosed: Serve after Shutdown or Close.
	ErrServerClosed = h2.ErrServerClosed
	// ErrWrongRole: a method of the other role (Respond on a client stream).
	ErrWrongRole = h2.ErrWrongRole
)
