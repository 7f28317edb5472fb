package h2gnet

import "strings"

// Request is a received request's head. The one given to ServeH2 is
// borrowed (valid until ServeH2 returns); Detached.Request is a copy.
type Request struct {
	Method    string
	Scheme    string
	Authority string
	Path      string
	Protocol  string // :protocol of an extended CONNECT (RFC 8441)
	// Header holds every field of the request, pseudo-header fields first
	// (RFC 9113 §8.3).
	Header []HeaderField
	// EndStream reports that the request has no content (its HEADERS
	// frame ended the stream, RFC 9113 §8.1).
	EndStream bool
}

// Get returns the value of the first field called name (lower case), or "".
func (r *Request) Get(name string) string {
	for _, f := range r.Header {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// fill makes r the request of an EventRequest, borrowing its fields.
func (r *Request) fill(e *Event) {
	*r = Request{Header: e.Headers, EndStream: e.EndStream}
	for _, f := range e.Headers {
		if !strings.HasPrefix(f.Name, ":") {
			break
		}
		switch f.Name {
		case ":method":
			r.Method = f.Value
		case ":scheme":
			r.Scheme = f.Value
		case ":authority":
			r.Authority = f.Value
		case ":path":
			r.Path = f.Value
		case ":protocol":
			r.Protocol = f.Value
		}
	}
}

// clone returns a copy of r that owns all its memory.
func (r *Request) clone() Request {
	n := Request{Header: cloneFields(r.Header), EndStream: r.EndStream}
	n.fill(&Event{Headers: n.Header, EndStream: r.EndStream})
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
