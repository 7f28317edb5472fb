package frame

// parseHeaders parses a HEADERS frame (RFC 9113 §6.2).
func parseHeaders(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return ErrHeadersStream0
	}
	if f.Flags.Has(FlagHeadersPadded) {
		var err error
		if payload, err = splitPadding(f, payload, ErrHeadersShort, ErrHeadersPadLong); err != nil {
			return err
		}
	}
	if f.Flags.Has(FlagHeadersPriority) {
		if len(payload) < 5 {
			if len(payload)+int(f.PadLength) >= 5 {
				// The priority fields overlap the padding.
				return ErrHeadersPadLong
			}
			return ErrHeadersShort
		}
		f.HasPriority = true
		f.Priority = parsePriorityFields(payload)
		payload = payload[5:]
		f.Data = payload
		if f.Priority.StreamDep == f.StreamID {
			// "A stream cannot depend on itself. An endpoint MUST treat this
			// as a stream error of type PROTOCOL_ERROR."
			return ErrHeadersSelfDep
		}
	}
	f.Data = payload
	return nil
}

// HeadersParam describes a HEADERS frame to encode.
type HeadersParam struct {
	StreamID   uint32
	Fragment   []byte // the field block fragment
	EndStream  bool
	EndHeaders bool

	Padded    bool
	PadLength uint8

	HasPriority bool
	Priority    Priority
}

// AppendHeaders appends a HEADERS frame (RFC 9113 §6.2).
func AppendHeaders(dst []byte, p HeadersParam) []byte {
	var flags Flags
	length := len(p.Fragment)
	if p.EndStream {
		flags |= FlagHeadersEndStream
	}
	if p.EndHeaders {
		flags |= FlagHeadersEndHeaders
	}
	if p.Padded {
		flags |= FlagHeadersPadded
		length += 1 + int(p.PadLength)
	}
	if p.HasPriority {
		flags |= FlagHeadersPriority
		length += 5
	}
	dst = AppendHeader(dst, Header{Length: uint32(length), Type: TypeHeaders, Flags: flags, StreamID: p.StreamID})
	if p.Padded {
		dst = append(dst, p.PadLength)
	}
	if p.HasPriority {
		dst = appendPriorityFields(dst, p.Priority)
	}
	dst = append(dst, p.Fragment...)
	if p.Padded {
		dst = appendPadding(dst, p.PadLength)
	}
	return dst
}
