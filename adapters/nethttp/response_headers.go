package nethttp

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	h2 "github.com/h2proto/h2"
	"golang.org/x/net/http/httpguts"
)

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
		name := lowerKey(k)
		if connSpecific(name) || name == "content-length" || !httpguts.ValidHeaderFieldName(k) {
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
