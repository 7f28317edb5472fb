package frame

// parseGoAway parses a GOAWAY frame (RFC 9113 §6.8).
func parseGoAway(f *Frame, payload []byte) error {
	if f.StreamID != 0 {
		return ErrGoAwayStream
	}
	if len(payload) < 8 {
		return ErrGoAwayShort
	}
	f.LastStreamID = readUint32(payload) & MaxStreamID
	f.ErrCode = ErrCode(readUint32(payload[4:]))
	f.Data = payload[8:]
	return nil
}

// AppendGoAway appends a GOAWAY frame (RFC 9113 §6.8) with optional debug
// data.
func AppendGoAway(dst []byte, lastStreamID uint32, code ErrCode, debug []byte) []byte {
	dst = AppendHeader(dst, Header{Length: uint32(8 + len(debug)), Type: TypeGoAway})
	dst = appendUint32(dst, lastStreamID&MaxStreamID)
	dst = appendUint32(dst, uint32(code))
	return append(dst, debug...)
}
