package h2gnet

import (
	"strings"

	h2 "github.com/h2proto/h2"
)

// Request is a received request's head: the runtime's type (h2.Request),
// filled from the core's EventRequest with h2.Request.Set. The one given to
// ServeH2 is borrowed (valid until ServeH2 returns); Detached.Request is a
// copy.
type Request = h2.Request

// cloneRequest returns a copy of r that owns all its memory.
func cloneRequest(r *Request) Request {
	var n Request
	n.Set(cloneFields(r.Header), r.EndStream)
	return n
}

func cloneFields(fs []HeaderField) []HeaderField {
	if len(fs) == 0 {
		return nil
	}
	out := make([]HeaderField, len(fs))
	for i, f := range fs {
		out[i] = HeaderField{Name: strings.Clone(f.Name), Value: strings.Clone(f.Value), Sensitive: f.Sensitive}
	}
	return out
}
