package frame

// parsePriority parses a PRIORITY frame (RFC 9113 §6.3). Its semantics are
// deprecated; the core parses and otherwise ignores it.
func parsePriority(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return ErrPriorityStream0
	}
	if len(payload) != 5 {
		// "A PRIORITY frame with a length other than 5 octets MUST be treated
		// as a stream error of type FRAME_SIZE_ERROR."
		return ErrPriorityLength
	}
	f.HasPriority = true
	f.Priority = parsePriorityFields(payload)
	if f.Priority.StreamDep == f.StreamID {
		return ErrPrioritySelfDep
	}
	return nil
}

func parsePriorityFields(p []byte) Priority {
	v := readUint32(p)
	return Priority{StreamDep: v & MaxStreamID, Exclusive: v>>31 == 1, Weight: p[4]}
}

func appendPriorityFields(dst []byte, p Priority) []byte {
	v := p.StreamDep & MaxStreamID
	if p.Exclusive {
		v |= 1 << 31
	}
	return append(appendUint32(dst, v), p.Weight)
}

// AppendPriority appends a PRIORITY frame (RFC 9113 §6.3).
func AppendPriority(dst []byte, streamID uint32, p Priority) []byte {
	dst = AppendHeader(dst, Header{Length: 5, Type: TypePriority, StreamID: streamID})
	return appendPriorityFields(dst, p)
}
