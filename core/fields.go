package core

import "github.com/h2proto/h2/core/frame"

// Message rules of RFC 9113 §8 (and RFC 9110, RFC 8441), as stream errors of
// type PROTOCOL_ERROR ("malformed", RFC 9113 §8.1.1). The same rules check
// what the application asks us to send; there they become *MessageError.
var (
	ruleEmptyName          = rule("empty_field_name", "RFC 9113 §8.2.1")
	ruleUppercase          = rule("uppercase_field_name", "RFC 9113 §8.2.1")
	ruleBadName            = rule("invalid_field_name", "RFC 9113 §8.2.1")
	ruleBadValue           = rule("invalid_field_value", "RFC 9113 §8.2.1")
	ruleConnSpecific       = rule("connection_specific_field", "RFC 9113 §8.2.2")
	ruleTE                 = rule("te_not_trailers", "RFC 9113 §8.2.2")
	rulePseudoAfterRegular = rule("pseudo_after_regular", "RFC 9113 §8.3")
	ruleUnknownPseudo      = rule("unknown_pseudo_header", "RFC 9113 §8.3")
	ruleDuplicatePseudo    = rule("duplicate_pseudo_header", "RFC 9113 §8.3")
	ruleMissingPseudo      = rule("missing_pseudo_header", "RFC 9113 §8.3.1")
	ruleEmptyPath          = rule("empty_path", "RFC 9113 §8.3.1")
	ruleBadPath            = rule("invalid_path", "RFC 9113 §8.3.1")
	ruleHostMismatch       = rule("host_authority_mismatch", "RFC 9113 §8.3.1")
	ruleConnectPseudo      = rule("connect_pseudo_headers", "RFC 9113 §8.5")
	ruleProtocolDisabled   = rule("protocol_without_extended_connect", "RFC 8441 §4")
	ruleProtocolMethod     = rule("protocol_with_non_connect", "RFC 8441 §4")
	ruleBadContentLength   = rule("invalid_content_length", "RFC 9110 §8.6")
	ruleContentLength      = rule("content_length_mismatch", "RFC 9113 §8.1.1")
	ruleBodyNotAllowed     = rule("content_not_allowed", "RFC 9113 §8.1.1")
	ruleDataBeforeResponse = rule("data_before_response", "RFC 9113 §8.1")
	ruleBadStatus          = rule("invalid_status", "RFC 9113 §8.3.2")
	ruleMissingStatus      = rule("missing_status", "RFC 9113 §8.3.2")
	ruleNoContentLength    = rule("content_length_in_1xx_or_204", "RFC 9110 §8.6")
	ruleStatus101          = rule("status_101", "RFC 9113 §8.6")
	ruleInfoEndStream      = rule("informational_end_stream", "RFC 9113 §8.1")
	ruleTrailersNoEnd      = rule("trailers_without_end_stream", "RFC 9113 §8.1")
	rulePseudoInTrailers   = rule("pseudo_header_in_trailers", "RFC 9113 §8.1")
	ruleTunnelTrailers     = rule("trailers_on_tunnel", "RFC 9113 §8.5")
	ruleTunnelLength       = rule("content_length_in_tunnel_response", "RFC 9110 §9.3.6")
)

// msgInfo is what validation learns from a field section.
type msgInfo struct {
	method, scheme, authority, path, protocol string
	status                                    int
	contentLength                             int64 // -1 when absent
	host                                      string
	hasHost                                   bool
}

// Bits for request pseudo-header fields.
const (
	pMethod uint8 = 1 << iota
	pScheme
	pAuthority
	pPath
	pProtocol
)

// nameChars is 1 for the bytes of field names: valid tchar (RFC 9110
// §5.6.2) other than uppercase letters, which RFC 9113 §8.2.1 forbids. Bytes,
// not bools, so that checkName can AND them together without a branch.
var nameChars = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = 1
	}
	return t
}()

// badValueChars marks the bytes a field value must not contain: NUL, CR
// and LF (RFC 9113 §8.2.1).
var badValueChars = [256]byte{0: 1, '\r': 1, '\n': 1}

// checkName reports a field name that is empty, has uppercase letters or a
// byte outside tchar (RFC 9113 §8.2.1). Pseudo-header names are checked by
// the callers.
func checkName(name string) *frame.Error {
	if name == "" {
		return ruleEmptyName
	}
	// The common case, a valid name, costs one table load per byte and
	// one branch; only a bad name is looked at again to say why.
	var ok byte = 1
	for i := 0; i < len(name); i++ {
		ok &= nameChars[name[i]]
	}
	if ok == 1 {
		return nil
	}
	for i := 0; i < len(name); i++ {
		if nameChars[name[i]] == 0 {
			if name[i] >= 'A' && name[i] <= 'Z' {
				return ruleUppercase
			}
			return ruleBadName
		}
	}
	return nil
}

// checkValue reports a value with NUL, CR or LF, or with leading or trailing
// whitespace (RFC 9113 §8.2.1).
func checkValue(v string, relax *Relax) *frame.Error {
	// One table load per byte, OR-ed together so the loop has no branch
	// but its own.
	var bad byte
	for i := 0; i < len(v); i++ {
		bad |= badValueChars[v[i]]
	}
	if bad != 0 {
		return ruleBadValue
	}
	if len(v) > 0 && !relax.FieldValueWhitespace {
		if c := v[0]; c == ' ' || c == '\t' {
			return ruleBadValue
		}
		if c := v[len(v)-1]; c == ' ' || c == '\t' {
			return ruleBadValue
		}
	}
	return nil
}

// checkRegular applies the rules for a regular (non-pseudo) field.
func checkRegular(f *HeaderField, relax *Relax, info *msgInfo) *frame.Error {
	if e := checkName(f.Name); e != nil {
		return e
	}
	if e := checkValue(f.Value, relax); e != nil {
		return e
	}
	switch f.Name {
	case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
		return ruleConnSpecific
	case "te":
		if f.Value != "trailers" {
			return ruleTE
		}
	case "content-length":
		n, ok := parseContentLength(f.Value)
		if !ok || (info.contentLength >= 0 && n != info.contentLength) {
			return ruleBadContentLength
		}
		info.contentLength = n
	case "host":
		info.host, info.hasHost = f.Value, true
	}
	return nil
}

// parseContentLength parses 1*DIGIT without overflow.
func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

func isPseudo(name string) bool { return len(name) > 0 && name[0] == ':' }

// checkPlacement applies the rules every field of a request or response
// obeys: a regular field passes checkRegular; a pseudo-header field must not
// follow a regular one (RFC 9113 §8.3). The caller checks pseudo-header
// names and values.
func checkPlacement(fields []HeaderField, i int, relax *Relax, info *msgInfo) *frame.Error {
	if f := &fields[i]; !isPseudo(f.Name) {
		return checkRegular(f, relax, info)
	}
	if i > 0 && !isPseudo(fields[i-1].Name) {
		return rulePseudoAfterRegular
	}
	return nil
}

// checkRequest validates a request's field section (RFC 9113 §8.3.1, §8.5,
// RFC 8441 §4). extConnect reports whether :protocol is acceptable. On error
// it also returns the index of the offending field, or -1.
func checkRequest(fields []HeaderField, extConnect bool, relax *Relax) (msgInfo, int, *frame.Error) {
	info := msgInfo{contentLength: -1}
	var seen uint8
	for i := range fields {
		f := &fields[i]
		if e := checkPlacement(fields, i, relax, &info); e != nil || !isPseudo(f.Name) {
			if e != nil {
				return info, i, e
			}
			continue
		}
		var bit uint8
		switch f.Name {
		case ":method":
			bit, info.method = pMethod, f.Value
		case ":scheme":
			bit, info.scheme = pScheme, f.Value
		case ":authority":
			bit, info.authority = pAuthority, f.Value
		case ":path":
			bit, info.path = pPath, f.Value
		case ":protocol":
			if !extConnect {
				return info, i, ruleProtocolDisabled
			}
			bit, info.protocol = pProtocol, f.Value
		default:
			return info, i, ruleUnknownPseudo
		}
		if seen&bit != 0 {
			return info, i, ruleDuplicatePseudo
		}
		if e := checkValue(f.Value, relax); e != nil {
			return info, i, e
		}
		seen |= bit
	}
	switch {
	case info.method == "CONNECT" && seen&pProtocol == 0:
		// "The :scheme and :path pseudo-header fields MUST be omitted" and
		// ":authority ... MUST" be present (RFC 9113 §8.5).
		if seen&(pScheme|pPath) != 0 || seen&pAuthority == 0 || info.authority == "" {
			return info, -1, ruleConnectPseudo
		}
	case seen&pProtocol != 0 && info.method != "CONNECT":
		return info, -1, ruleProtocolMethod
	default:
		if seen&(pMethod|pScheme|pPath) != pMethod|pScheme|pPath {
			return info, -1, ruleMissingPseudo
		}
		if info.path == "" {
			return info, -1, ruleEmptyPath
		}
		if (info.scheme == "http" || info.scheme == "https") && info.path[0] != '/' &&
			(info.method != "OPTIONS" || info.path != "*") {
			return info, -1, ruleBadPath
		}
	}
	if info.hasHost && seen&pAuthority != 0 && info.host != info.authority && !relax.HostAuthorityMismatch {
		return info, -1, ruleHostMismatch
	}
	return info, -1, nil
}

// checkResponse validates a response's field section (RFC 9113 §8.3.2).
func checkResponse(fields []HeaderField, relax *Relax) (msgInfo, int, *frame.Error) {
	info := msgInfo{contentLength: -1}
	for i := range fields {
		f := &fields[i]
		if e := checkPlacement(fields, i, relax, &info); e != nil || !isPseudo(f.Name) {
			if e != nil {
				return info, i, e
			}
			continue
		}
		if f.Name != ":status" {
			return info, i, ruleUnknownPseudo
		}
		if info.status != 0 {
			return info, i, ruleDuplicatePseudo
		}
		info.status = parseStatus(f.Value)
		if info.status == 0 {
			return info, i, ruleBadStatus
		}
	}
	if info.status == 0 {
		return info, -1, ruleMissingStatus
	}
	return info, -1, nil
}

// parseStatus parses a three-digit status code, returning 0 if invalid.
func parseStatus(s string) int {
	if len(s) != 3 || s[0] < '1' || s[0] > '9' {
		return 0
	}
	n := 0
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// checkTrailers validates a trailer section: regular fields only (RFC 9113
// §8.1).
func checkTrailers(fields []HeaderField, relax *Relax) (int, *frame.Error) {
	var info msgInfo
	info.contentLength = -1
	return checkFields(fields, relax, &info, rulePseudoInTrailers)
}

// checkFields validates a section that must hold regular fields only,
// reporting pseudo for a pseudo-header field.
func checkFields(fields []HeaderField, relax *Relax, info *msgInfo, pseudo *frame.Error) (int, *frame.Error) {
	for i := range fields {
		f := &fields[i]
		if isPseudo(f.Name) {
			return i, pseudo
		}
		if e := checkRegular(f, relax, info); e != nil {
			return i, e
		}
	}
	return -1, nil
}

// messageError converts a rule broken by the application's fields into the
// error a command returns.
func messageError(fields []HeaderField, idx int, e *frame.Error) error {
	me := &MessageError{Token: e.Token, Section: e.Section}
	if idx >= 0 {
		me.Field = fields[idx].Name
	}
	return me
}

// statusStrings holds "100" … "999" so that encoding :status never
// allocates.
var statusStrings = func() (t [1000]string) {
	for i := 100; i < 1000; i++ {
		t[i] = itoa(int64(i))
	}
	return t
}()
