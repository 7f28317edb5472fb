package frame

// parsePing parses a PING frame (RFC 9113 §6.7).
func parsePing(f *Frame, payload []byte) error {
	if len(payload) != 8 {
		return ErrPingLength
	}
	if f.StreamID != 0 {
		return ErrPingStream
	}
	copy(f.PingData[:], payload)
	return nil
}

// AppendPing appends a PING frame with the given opaque data (RFC 9113 §6.7).
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var flags Flags
	if ack {
		flags = FlagPingAck
	}
	dst = AppendHeader(dst, Header{Length: 8, Type: TypePing, Flags: flags})
	return append(dst, data[:]...)
}
