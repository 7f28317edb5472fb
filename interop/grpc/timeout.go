package grpcinterop

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// maxTimeoutDigits is the longest TimeoutValue the gRPC protocol allows
// ("1*8DIGIT").
const maxTimeoutDigits = 8

var timeoutUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'n', time.Nanosecond}, {'u', time.Microsecond}, {'m', time.Millisecond},
	{'S', time.Second}, {'M', time.Minute}, {'H', time.Hour},
}

// ParseTimeout parses a grpc-timeout header value: 1 to 8 digits and a
// unit, H, M, S, m, u or n (gRPC PROTOCOL-HTTP2, "Timeout").
func ParseTimeout(v string) (time.Duration, error) {
	if len(v) < 2 || len(v) > maxTimeoutDigits+1 {
		return 0, fmt.Errorf("grpcinterop: bad grpc-timeout %q: want 1 to 8 digits and a unit", v)
	}
	n, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	if err != nil { // ParseUint takes no sign
		return 0, fmt.Errorf("grpcinterop: bad grpc-timeout %q: value is not digits", v)
	}
	for _, u := range timeoutUnits {
		if u.unit == v[len(v)-1] {
			// 8 digits of hours overflow a Duration (about 292 years).
			if n > uint64(1<<63-1)/uint64(u.d) {
				return 1<<63 - 1, nil
			}
			return time.Duration(n) * u.d, nil
		}
	}
	return 0, fmt.Errorf("grpcinterop: bad grpc-timeout %q: unknown unit", v)
}

// errNonPositiveTimeout is FormatTimeout's complaint about d <= 0.
var errNonPositiveTimeout = errors.New("grpcinterop: grpc-timeout must be positive")

// FormatTimeout formats d for the grpc-timeout header in the finest unit
// whose value fits 8 digits, rounding up so the peer never sees a shorter
// deadline than the caller's.
func FormatTimeout(d time.Duration) (string, error) {
	if d <= 0 {
		return "", errNonPositiveTimeout
	}
	for _, u := range timeoutUnits {
		n := d / u.d
		if d%u.d != 0 {
			n++
		}
		if n < 1e8 {
			return strconv.FormatInt(int64(n), 10) + string(u.unit), nil
		}
	}
	return "99999999H", nil
}
