package frame

// parseData parses a DATA frame (RFC 9113 §6.1).
func parseData(f *Frame, payload []byte) error {
	if f.StreamID == 0 {
		// "If a DATA frame is received whose Stream Identifier field is 0x00,
		// the recipient MUST respond with a connection error of type
		// PROTOCOL_ERROR."
		return ErrDataStream0
	}
	if f.Flags.Has(FlagDataPadded) {
		var err error
		if payload, err = splitPadding(f, payload, ErrDataPadShort, ErrDataPadTooLong); err != nil {
			return err
		}
	}
	f.Data = payload
	return nil
}

// AppendData appends a DATA frame carrying data (RFC 9113 §6.1). The caller
// keeps len(data) within the peer's SETTINGS_MAX_FRAME_SIZE.
func AppendData(dst []byte, streamID uint32, endStream bool, data []byte) []byte {
	var flags Flags
	if endStream {
		flags = FlagDataEndStream
	}
	return appendData(dst, streamID, flags, data, false, 0)
}

// AppendDataPadded appends a DATA frame with the PADDED flag and padLen
// octets of zero padding.
func AppendDataPadded(dst []byte, streamID uint32, endStream bool, data []byte, padLen uint8) []byte {
	var flags Flags
	if endStream {
		flags = FlagDataEndStream
	}
	return appendData(dst, streamID, flags, data, true, padLen)
}

func appendData(dst []byte, streamID uint32, flags Flags, data []byte, padded bool, padLen uint8) []byte {
	length := len(data)
	flags &^= FlagDataPadded
	if padded {
		flags |= FlagDataPadded
		length += 1 + int(padLen)
	}
	dst = AppendHeader(dst, Header{Length: uint32(length), Type: TypeData, Flags: flags, StreamID: streamID})
	if padded {
		dst = append(dst, padLen)
	}
	dst = append(dst, data...)
	if padded {
		dst = appendPadding(dst, padLen)
	}
	return dst
}
