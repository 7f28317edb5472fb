package frame

// A Frame is one parsed frame. Which payload fields are meaningful depends on
// Type; the others are zero. Slices alias the buffer given to Parse.
type Frame struct {
	Header

	// Data is the DATA payload without padding, the field block fragment of
	// HEADERS, PUSH_PROMISE and CONTINUATION, the debug data of GOAWAY, or the
	// whole payload of a frame of unknown type.
	Data []byte

	// Padded reports that the PADDED flag was set (DATA, HEADERS,
	// PUSH_PROMISE); PadLength is then the number of padding octets. For flow
	// control the whole payload counts (Header.Length), padding included.
	Padded    bool
	PadLength uint8

	// Priority is set by PRIORITY frames and by HEADERS frames with the
	// PRIORITY flag (HasPriority).
	HasPriority bool
	Priority    Priority

	ErrCode      ErrCode // RST_STREAM, GOAWAY
	LastStreamID uint32  // GOAWAY
	PromisedID   uint32  // PUSH_PROMISE
	Increment    uint32  // WINDOW_UPDATE
	PingData     [8]byte // PING

	settings []byte // SETTINGS payload, a multiple of 6 octets
}

// Priority is the deprecated RFC 7540 priority signal carried by PRIORITY
// frames and HEADERS with the PRIORITY flag (RFC 9113 §5.3.2, §6.3).
type Priority struct {
	StreamDep uint32
	Exclusive bool
	Weight    uint8 // weight minus one, as on the wire
}

// EndStream reports whether the END_STREAM flag is set on a DATA or HEADERS
// frame.
func (f *Frame) EndStream() bool {
	return (f.Type == TypeData || f.Type == TypeHeaders) && f.Flags.Has(FlagDataEndStream)
}

// EndHeaders reports whether the END_HEADERS flag is set on a HEADERS,
// PUSH_PROMISE or CONTINUATION frame.
func (f *Frame) EndHeaders() bool {
	switch f.Type {
	case TypeHeaders, TypePushPromise, TypeContinuation:
		return f.Flags.Has(FlagHeadersEndHeaders)
	}
	return false
}

// IsAck reports whether the ACK flag is set on a SETTINGS or PING frame.
func (f *Frame) IsAck() bool {
	return (f.Type == TypeSettings || f.Type == TypePing) && f.Flags.Has(FlagSettingsAck)
}

// Parse parses the frame at the start of p. It returns the frame, the number
// of bytes it occupies (HeaderLen plus its payload length) and an error:
// ErrNeedMore when p holds less than one whole frame, ErrFrameTooLarge as soon
// as a header announces a payload longer than maxFrameSize, or another *Error
// for a malformed frame. On an *Error other than ErrFrameTooLarge, the frame
// header and n are still valid, so that the caller can skip the frame or
// address a stream error to f.StreamID; after a stream error (Error.Stream)
// the payload fields are filled in as far as parsing got.
//
// The returned Frame aliases p. Parse does not allocate.
func Parse(p []byte, maxFrameSize uint32) (f Frame, n int, err error) {
	h, err := ParseHeader(p)
	if err != nil {
		return f, 0, err
	}
	if h.Length > maxFrameSize {
		return Frame{Header: h}, 0, ErrFrameTooLarge
	}
	n = HeaderLen + int(h.Length)
	if len(p) < n {
		return f, 0, ErrNeedMore
	}
	f.Header = h
	payload := p[HeaderLen:n:n]
	// A switch of direct calls, not a table of functions: the frame is
	// passed by pointer without escaping to the heap, and nothing is
	// copied in and out.
	switch h.Type {
	case TypeData:
		err = parseData(&f, payload)
	case TypeHeaders:
		err = parseHeaders(&f, payload)
	case TypePriority:
		err = parsePriority(&f, payload)
	case TypeRSTStream:
		err = parseRSTStream(&f, payload)
	case TypeSettings:
		err = parseSettings(&f, payload)
	case TypePushPromise:
		err = parsePushPromise(&f, payload)
	case TypePing:
		err = parsePing(&f, payload)
	case TypeGoAway:
		err = parseGoAway(&f, payload)
	case TypeWindowUpdate:
		err = parseWindowUpdate(&f, payload)
	case TypeContinuation:
		err = parseContinuation(&f, payload)
	default:
		f.Data = payload // unknown types are ignored (RFC 9113 §5.5)
	}
	if err != nil {
		if e, ok := err.(*Error); ok && e.Stream {
			// A stream error leaves the frame usable: a HEADERS frame's field
			// block must still be decoded to keep HPACK state in sync.
			return f, n, err
		}
		return Frame{Header: h}, n, err
	}
	return f, n, nil
}

// splitPadding strips the pad-length octet and trailing padding from a
// PADDED payload.
func splitPadding(f *Frame, payload []byte, short, tooLong *Error) ([]byte, error) {
	if len(payload) < 1 {
		return nil, short
	}
	pad := int(payload[0])
	payload = payload[1:]
	if pad > len(payload) {
		return nil, tooLong
	}
	f.Padded = true
	f.PadLength = uint8(pad)
	return payload[:len(payload)-pad], nil
}

// appendPadded appends the pad-length octet (when padded), body, and
// padLen zero octets of padding.
func appendPadding(dst []byte, padLen uint8) []byte {
	for i := 0; i < int(padLen); i++ {
		dst = append(dst, 0)
	}
	return dst
}

// AppendFrame appends the encoding of f, using the fields its Type uses.
// The frame length is computed, not taken from f.Length. For SETTINGS frames
// the settings given to Parse (or none) are re-encoded. It is mainly for
// tools and tests; the core calls the typed encoders.
func AppendFrame(dst []byte, f *Frame) []byte {
	switch f.Type {
	case TypeData:
		// Undefined flags are left unset when sending (RFC 9113 §4.1).
		return appendData(dst, f.StreamID, f.Flags&FlagDataEndStream, f.Data, f.Padded, f.PadLength)
	case TypeHeaders:
		return AppendHeaders(dst, HeadersParam{
			StreamID: f.StreamID, Fragment: f.Data,
			EndStream: f.Flags.Has(FlagHeadersEndStream), EndHeaders: f.Flags.Has(FlagHeadersEndHeaders),
			Padded: f.Padded, PadLength: f.PadLength,
			HasPriority: f.HasPriority, Priority: f.Priority,
		})
	case TypePriority:
		return AppendPriority(dst, f.StreamID, f.Priority)
	case TypeRSTStream:
		return AppendRSTStream(dst, f.StreamID, f.ErrCode)
	case TypeSettings:
		if f.IsAck() {
			return AppendSettingsAck(dst)
		}
		dst = AppendHeader(dst, Header{Length: uint32(len(f.settings)), Type: TypeSettings, StreamID: f.StreamID})
		return append(dst, f.settings...)
	case TypePushPromise:
		return AppendPushPromise(dst, PushPromiseParam{
			StreamID: f.StreamID, PromisedID: f.PromisedID, Fragment: f.Data,
			EndHeaders: f.Flags.Has(FlagPushPromiseEndHeaders),
			Padded:     f.Padded, PadLength: f.PadLength,
		})
	case TypePing:
		return AppendPing(dst, f.IsAck(), f.PingData)
	case TypeGoAway:
		return AppendGoAway(dst, f.LastStreamID, f.ErrCode, f.Data)
	case TypeWindowUpdate:
		return AppendWindowUpdate(dst, f.StreamID, f.Increment)
	case TypeContinuation:
		return AppendContinuation(dst, f.StreamID, f.Flags.Has(FlagContinuationEndHeaders), f.Data)
	}
	return AppendRaw(dst, f.Type, f.Flags, f.StreamID, f.Data)
}

// AppendRaw appends a frame with the given header fields and payload
// verbatim. It can produce frames of unknown type and deliberately malformed
// frames.
func AppendRaw(dst []byte, t Type, flags Flags, streamID uint32, payload []byte) []byte {
	dst = AppendHeader(dst, Header{Length: uint32(len(payload)), Type: t, Flags: flags, StreamID: streamID})
	return append(dst, payload...)
}
