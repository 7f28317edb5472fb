package frame

// parsePushPromise parses a PUSH_PROMISE frame (RFC 9113 §6.6). h2proto never
// enables push; the core rejects these frames, but it parses them so that the
// error it reports is the right one.
func parsePushPromise(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return ErrPushStream0
	}
	if f.Flags.Has(FlagPushPromisePadded) {
		var err error
		if payload, err = splitPadding(f, payload, ErrPushShort, ErrPushPadLong); err != nil {
			return err
		}
	}
	if len(payload) < 4 {
		if len(payload)+int(f.PadLength) >= 4 {
			// The promised stream ID overlaps the padding.
			return ErrPushPadLong
		}
		return ErrPushShort
	}
	f.PromisedID = readUint32(payload) & MaxStreamID
	f.Data = payload[4:]
	return nil
}

// PushPromiseParam describes a PUSH_PROMISE frame to encode.
type PushPromiseParam struct {
	StreamID   uint32
	PromisedID uint32
	Fragment   []byte
	EndHeaders bool
	Padded     bool
	PadLength  uint8
}

// AppendPushPromise appends a PUSH_PROMISE frame (RFC 9113 §6.6).
func AppendPushPromise(dst []byte, p PushPromiseParam) []byte {
	var flags Flags
	length := 4 + len(p.Fragment)
	if p.EndHeaders {
		flags |= FlagPushPromiseEndHeaders
	}
	if p.Padded {
		flags |= FlagPushPromisePadded
		length += 1 + int(p.PadLength)
	}
	dst = AppendHeader(dst, Header{Length: uint32(length), Type: TypePushPromise, Flags: flags, StreamID: p.StreamID})
	if p.Padded {
		dst = append(dst, p.PadLength)
	}
	dst = appendUint32(dst, p.PromisedID&MaxStreamID)
	dst = append(dst, p.Fragment...)
	if p.Padded {
		dst = appendPadding(dst, p.PadLength)
	}
	return dst
}
