package grpcinterop

import (
	"context"
	"errors"
	"strconv"
	"strings"

	h2 "github.com/h2proto/h2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// EncodeMessage percent-encodes a grpc-message value: bytes outside
// printable ASCII (0x20-0x7E) and '%' become %XX (gRPC PROTOCOL-HTTP2,
// "Status-Message"), so UTF-8 text survives as a header value.
func EncodeMessage(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// DecodeMessage undoes EncodeMessage. A '%' not followed by two hex
// digits is kept as it is, as the protocol asks of receivers.
func DecodeMessage(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// statusFields returns the grpc-status and grpc-message fields for st.
func statusFields(st *status.Status) []h2.HeaderField {
	fs := []h2.HeaderField{{Name: "grpc-status", Value: strconv.Itoa(int(st.Code()))}}
	if m := st.Message(); m != "" {
		fs = append(fs, h2.HeaderField{Name: "grpc-message", Value: EncodeMessage(m)})
	}
	return fs
}

// toStatus maps a handler's error to the status sent: a gRPC status
// error as it is, a context's end as DEADLINE_EXCEEDED or CANCELLED, and
// anything else as UNKNOWN with its text.
func toStatus(err error) *status.Status {
	if err == nil {
		return status.New(codes.OK, "")
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return status.FromContextError(err)
	}
	return status.New(codes.Unknown, err.Error())
}

// ParseStatus reads grpc-status and grpc-message from fields (trailers,
// or the headers of a trailers-only response). ok is false when
// grpc-status is missing or not a number.
func ParseStatus(fields []h2.HeaderField) (st *status.Status, ok bool) {
	var code, msg string
	var have bool
	for _, f := range fields {
		switch f.Name {
		case "grpc-status":
			code, have = f.Value, true
		case "grpc-message":
			msg = f.Value
		}
	}
	if !have {
		return nil, false
	}
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return nil, false
	}
	return status.New(codes.Code(n), DecodeMessage(msg)), true
}
