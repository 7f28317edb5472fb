package grpcinterop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HeaderLen is the size of a gRPC message prefix: one byte, the
// Compressed-Flag, then the message length as a 4-byte big-endian integer
// (gRPC PROTOCOL-HTTP2, "Length-Prefixed-Message").
const HeaderLen = 5

// DefaultMaxMessageSize is the largest message a MessageReader accepts
// when given no limit: 4 MiB, grpc-go's default receive limit, so both
// implementations refuse the same messages.
const DefaultMaxMessageSize = 4 << 20

var (
	// ErrCompressed reports a message with the Compressed-Flag set: this
	// package negotiates no compression, so the peer must not send one.
	ErrCompressed = errors.New("grpcinterop: compressed message, but no grpc-encoding was negotiated")

	// ErrTruncated reports a stream that ended inside a message.
	ErrTruncated = errors.New("grpcinterop: stream ended inside a message")
)

// TooLargeError reports a message longer than the reader's limit.
type TooLargeError struct{ Len, Max int }

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("grpcinterop: message of %d bytes exceeds the limit of %d", e.Len, e.Max)
}

// AppendMessage appends msg to dst as one uncompressed length-prefixed
// message.
func AppendMessage(dst, msg []byte) []byte {
	dst = append(dst, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], uint32(len(msg)))
	return append(dst, msg...)
}

// A MessageReader splits a byte stream (an h2.Stream's content) into gRPC
// messages.
type MessageReader struct {
	r   io.Reader
	max int
	hdr [HeaderLen]byte
}

// NewMessageReader reads messages from r, refusing any longer than max
// bytes (zero or less means DefaultMaxMessageSize) before reading them,
// so a peer cannot make it allocate more.
func NewMessageReader(r io.Reader, max int) *MessageReader {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	return &MessageReader{r: r, max: max}
}

// Next returns the next message. It returns io.EOF when the stream ends
// between messages, ErrTruncated when it ends inside one, ErrCompressed
// or a *TooLargeError for a message it refuses, and the reader's error
// (an h2 stream's reset) otherwise.
func (mr *MessageReader) Next() ([]byte, error) {
	if _, err := io.ReadFull(mr.r, mr.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	if mr.hdr[0] != 0 {
		return nil, ErrCompressed
	}
	n := binary.BigEndian.Uint32(mr.hdr[1:])
	if uint64(n) > uint64(mr.max) {
		return nil, &TooLargeError{Len: int(n), Max: mr.max}
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(mr.r, msg); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	return msg, nil
}
