package nethttp

import (
	"iter"
	"net/http"
	"strings"

	h2 "github.com/h2proto/h2"
	"golang.org/x/net/http/httpguts"
)

// This file holds what the server and the client share: converting field
// names and lists between HTTP/2's form (RFC 9113 §8.2) and http.Header's,
// the connection-specific field names, and the Trailer field's syntax.

// commonKeys lists the field names most responses and requests carry, so
// that converting them between http.Header's canonical form and HTTP/2's
// lowercase form (RFC 9113 §8.2.1) allocates nothing.
var commonKeys = []string{
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
	toLower     = make(map[string]string, len(commonKeys))
	toCanonical = make(map[string]string, len(commonKeys))
)

func init() {
	for _, k := range commonKeys {
		l := strings.ToLower(k)
		toLower[k] = l
		toCanonical[l] = k
	}
}

// lowerKey returns the HTTP/2 (lowercase) form of a header key.
func lowerKey(k string) string {
	if l, ok := toLower[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// canonicalKey returns the http.Header form of a received field name.
func canonicalKey(name string) string {
	if k, ok := toCanonical[name]; ok {
		return k
	}
	return http.CanonicalHeaderKey(name)
}

// connSpecific reports the connection-specific fields an HTTP/2 message
// must not carry (RFC 9113 §8.2.2), by lowercase name. TE is among them:
// only a request may carry it, and only as "trailers".
func connSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te":
		return true
	}
	return false
}

// headerFromFields converts received fields to an http.Header: pseudo-
// header fields dropped and names canonicalized. With joinCookies (a
// request), the cookie fields a client may split (RFC 9113 §8.2.3) are
// joined into one with "; ", as net/http's server does.
func headerFromFields(fs []h2.HeaderField, joinCookies bool) http.Header {
	n := 0
	for _, f := range fs {
		if !strings.HasPrefix(f.Name, ":") {
			n++
		}
	}
	h := make(http.Header, n)
	// One backing array for the values: a field seen once (most are)
	// takes a one-element window of it instead of its own slice.
	vals := make([]string, 0, n)
	var cookies []string
	for _, f := range fs {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		if joinCookies && f.Name == "cookie" {
			cookies = append(cookies, f.Value)
			continue
		}
		k := canonicalKey(f.Name)
		if vv, ok := h[k]; ok {
			h[k] = append(vv, f.Value)
			continue
		}
		vals = append(vals, f.Value)
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	switch len(cookies) {
	case 0:
	case 1:
		h["Cookie"] = cookies
	default:
		h["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	return h
}

// declaredTrailers yields the keys the Trailer field values vv declare
// (RFC 9110 §6.6.2), canonicalized, skipping empty ones and those a
// trailer must not carry (httpguts.ValidTrailerHeader: Content-Length,
// Host, Trailer, Transfer-Encoding, …).
func declaredTrailers(vv []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, v := range vv {
			for k := range strings.SplitSeq(v, ",") {
				k = http.CanonicalHeaderKey(strings.Trim(k, " \t"))
				if k != "" && httpguts.ValidTrailerHeader(k) && !yield(k) {
					return
				}
			}
		}
	}
}
