package frame

// parseContinuation parses a CONTINUATION frame (RFC 9113 §6.10). Whether a
// CONTINUATION is expected at all is connection state, checked by the core.
func parseContinuation(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		return ErrContStream0
	}
	f.Data = payload
	return nil
}

// AppendContinuation appends a CONTINUATION frame (RFC 9113 §6.10).
func AppendContinuation(dst []byte, streamID uint32, endHeaders bool, fragment []byte) []byte {
	var flags Flags
	if endHeaders {
		flags = FlagContinuationEndHeaders
	}
	dst = AppendHeader(dst, Header{Length: uint32(len(fragment)), Type: TypeContinuation, Flags: flags, StreamID: streamID})
	return append(dst, fragment...)
}
