package core

// staticIndex looks a field up in the HPACK static table (RFC 7541
// Appendix A): the index of the entry with this name and value (full),
// else the first with this name, else 0. A switch, not a map: it costs no
// hashing, and the table never changes.
func staticIndex(name, value string) (idx uint32, full bool) {
	switch name {
	case ":authority":
		return 1, value == ""
	case ":method":
		switch value {
		case "GET":
			return 2, true
		case "POST":
			return 3, true
		}
		return 2, false
	case ":path":
		switch value {
		case "/":
			return 4, true
		case "/index.html":
			return 5, true
		}
		return 4, false
	case ":scheme":
		switch value {
		case "http":
			return 6, true
		case "https":
			return 7, true
		}
		return 6, false
	case ":status":
		switch value {
		case "200":
			return 8, true
		case "204":
			return 9, true
		case "206":
			return 10, true
		case "304":
			return 11, true
		case "400":
			return 12, true
		case "404":
			return 13, true
		case "500":
			return 14, true
		}
		return 8, false
	case "accept-encoding":
		return 16, value == "gzip, deflate"
	}
	idx = staticNames(name)
	return idx, idx != 0 && value == ""
}

// staticNames is the index of the static entries whose value is empty
// (RFC 7541 Appendix A, 15 and 17–61).
func staticNames(name string) uint32 {
	switch name {
	case "accept-charset":
		return 15
	case "accept-language":
		return 17
	case "accept-ranges":
		return 18
	case "accept":
		return 19
	case "access-control-allow-origin":
		return 20
	case "age":
		return 21
	case "allow":
		return 22
	case "authorization":
		return 23
	case "cache-control":
		return 24
	case "content-disposition":
		return 25
	case "content-encoding":
		return 26
	case "content-language":
		return 27
	case "content-length":
		return 28
	case "content-location":
		return 29
	case "content-range":
		return 30
	case "content-type":
		return 31
	case "cookie":
		return 32
	case "date":
		return 33
	case "etag":
		return 34
	case "expect":
		return 35
	case "expires":
		return 36
	case "from":
		return 37
	case "host":
		return 38
	case "if-match":
		return 39
	case "if-modified-since":
		return 40
	case "if-none-match":
		return 41
	case "if-range":
		return 42
	case "if-unmodified-since":
		return 43
	case "last-modified":
		return 44
	case "link":
		return 45
	case "location":
		return 46
	case "max-forwards":
		return 47
	case "proxy-authenticate":
		return 48
	case "proxy-authorization":
		return 49
	case "range":
		return 50
	case "referer":
		return 51
	case "refresh":
		return 52
	case "retry-after":
		return 53
	case "server":
		return 54
	case "set-cookie":
		return 55
	case "strict-transport-security":
		return 56
	case "transfer-encoding":
		return 57
	case "user-agent":
		return 58
	case "vary":
		return 59
	case "via":
		return 60
	case "www-authenticate":
		return 61
	}
	return 0
}
