package frame

// parseWindowUpdate parses a WINDOW_UPDATE frame (RFC 9113 §6.9).
func parseWindowUpdate(f *Frame, payload []byte) error {
	if len(payload) != 4 {
		// "A WINDOW_UPDATE frame with a length other than 4 octets MUST be
		// treated as a connection error of type FRAME_SIZE_ERROR."
		return ErrWindowLength
	}
	f.Increment = readUint32(payload) & MaxWindowSize
	if f.Increment == 0 {
		// "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
		// flow-control window increment of 0 as a stream error of type
		// PROTOCOL_ERROR; errors on the connection flow-control window MUST
		// be treated as a connection error."
		if f.StreamID == 0 {
			return ErrWindowZeroConn
		}
		return ErrWindowZero
	}
	return nil
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame (RFC 9113 §6.9).
func AppendWindowUpdate(dst []byte, streamID, increment uint32) []byte {
	dst = AppendHeader(dst, Header{Length: 4, Type: TypeWindowUpdate, StreamID: streamID})
	return appendUint32(dst, increment&MaxWindowSize)
}
