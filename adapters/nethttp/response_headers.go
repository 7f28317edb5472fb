package nethttp

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	h2 "github.com/h2proto/h2"
	"golang.org/x/net/http/httpguts"
)

// srvCommon lists the field names most responses and requests carry, so
// that converting them between http.Header's canonical form and HTTP/2's
// lowercase form (RFC 9113 §8.2.1) allocates nothing.
var srvCommon = []string{
	"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
	"Accept-Ranges", "Age", "Access-Control-Allow-Origin", "Allow",
	"Authorization", "Cache-Control", "Content-Disposition",
	"Content-Encoding", "Content-Language", "Content-Length",
	"Content-Location", "Content-Range", "Content-Type", "Cookie", "Date",
	"Etag", "Expect", "Expires", "From", "Grpc-Message", "Grpc-Status",
	"Host", "If-Match", "If-Modified-Since", "If-None-Match",
	"If-Range", "If-Unmodified-Since", "Last-Modified", "Link", "Location",
	"Max-Forwards", "Origin", "Proxy-Authenticate", "Proxy-Authorization",
	"Range", "Referer", "Refresh", "Retry-After", "Server", "Set-Cookie",
	"Strict-Transport-Security", "Te", "Trailer", "User-Agent", "Vary",
	"Via", "Www-Authenticate", "X-Content-Type-Options", "X-Forwarded-For",
	"X-Forwarded-Proto", "X-Frame-Options", "X-Request-Id",
}

var (
	srvToLower     = make(map[string]string, len(srvCommon))
	srvToCanonical = make(map[string]string, len(srvCommon))
)

func init() {
	for _, k := range srvCommon {
		l := strings.ToLower(k)
		srvToLower[k] = l
		srvToCanonical[l] = k
	}
}

// srvLowerKey returns the HTTP/2 (lowercase) form of a header key.
func srvLowerKey(k string) string {
	if l, ok := srvToLower[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// srvCanonicalKey returns the http.Header form of a received field name.
func srvCanonicalKey(name string) string {
	if k, ok := srvToCanonical[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}

// srvHopByHop reports the connection-specific fields an HTTP/2 message
// must not carry (RFC 9113 §8.2.2), by lowercase name. TE is among them:
// only a request may carry it, and only as "trailers".
func srvHopByHop(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te":
		return true
	}
	return false
}

// srvAppendFields appends the fields of h a response may carry: names in
// lowercase, connection-specific fields (RFC 9113 §8.2.2) and those the
// Connection field names dropped, as are invalid names and values (RFC
// 9113 §8.2.1) — a handler's mistake must not break the connection —,
// trailer-prefixed keys, and Content-Length, which the caller handles.
func srvAppendFields(dst []h2.HeaderField, h http.Header) []h2.HeaderField {
	conn := h["Connection"]
	for k, vv := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := srvLowerKey(k)
		if srvHopByHop(name) || name == "content-length" || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		if len(conn) > 0 && httpguts.HeaderValuesContainsToken(conn, name) {
			continue
		}
		for _, v := range vv {
			if httpguts.ValidHeaderFieldValue(v) {
				dst = append(dst, h2.HeaderField{Name: name, Value: v})
			}
		}
	}
	return dst
}

// srvDate is the Date field value (RFC 9110 §6.6.1) of the current second.
type srvDate struct {
	sec int64
	val string
}

var srvDateCache atomic.Pointer[srvDate]

// srvDateValue formats the current time for a Date field, once a second.
func srvDateValue() string {
	now := time.Now()
	if d := srvDateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.val
	}
	d := &srvDate{sec: now.Unix(), val: now.UTC().Format(http.TimeFormat)}
	srvDateCache.Store(d)
	return d.val
}
