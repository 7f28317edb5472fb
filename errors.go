package h2

import "errors"

// Errors returned by the runtime. Protocol errors keep the core's types:
// *core.ConnError for the connection, *core.StreamError for one stream, and
// the core's sentinels (core.ErrSendBufferFull, core.ErrStreamClosed, …) for
// commands the protocol refuses.
var (
	// ErrHandlerSet is returned by the pull API of a stream (Response,
	// Read, DrainEvents) while its events go to a handler set with
	// SetHandler.
	ErrHandlerSet = errors.New("h2: stream events go to a handler")

	// ErrNotConnected is returned by WaitConnected when the connection
	// ended before the SETTINGS exchange completed.
	ErrNotConnected = errors.New("h2: connection ended before the preface exchange completed")

	// ErrServerClosed is returned by Serve after Shutdown or Close (a
	// connection's ServeConn returns how that connection ended).
	ErrServerClosed = errors.New("h2: server closed")

	// ErrWrongRole is returned by a method of the other role: Request on a
	// server connection, Respond on a client stream.
	ErrWrongRole = errors.New("h2: operation not available in this role")
)
