package frame

// parseRSTStream parses a RST_STREAM frame (RFC 9113 §6.4).
func parseRSTStream(f *Frame, payload []byte) error {
	if len(payload) != 4 {
		// "A RST_STREAM frame with a length other than 4 octets MUST be
		// treated as a connection error of type FRAME_SIZE_ERROR."
		return ErrRSTLength
	}
	if f.StreamID == 0 {
		return ErrRSTStream0
	}
	f.ErrCode = ErrCode(readUint32(payload))
	return nil
}

// AppendRSTStream appends a RST_STREAM frame (RFC 9113 §6.4).
func AppendRSTStream(dst []byte, streamID uint32, code ErrCode) []byte {
	dst = AppendHeader(dst, Header{Length: 4, Type: TypeRSTStream, StreamID: streamID})
	return appendUint32(dst, uint32(code))
}
