package frame

import "strconv"

// A SettingID identifies a SETTINGS parameter (RFC 9113 §6.5.2).
type SettingID uint16

// Setting identifiers: RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1.
const (
	SettingHeaderTableSize       SettingID = 0x1
	SettingEnablePush            SettingID = 0x2
	SettingMaxConcurrentStreams  SettingID = 0x3
	SettingInitialWindowSize     SettingID = 0x4
	SettingMaxFrameSize          SettingID = 0x5
	SettingMaxHeaderListSize     SettingID = 0x6
	SettingEnableConnectProtocol SettingID = 0x8
	SettingNoRFC7540Priorities   SettingID = 0x9
)

var settingNames = map[SettingID]string{
	SettingHeaderTableSize:       "HEADER_TABLE_SIZE",
	SettingEnablePush:            "ENABLE_PUSH",
	SettingMaxConcurrentStreams:  "MAX_CONCURRENT_STREAMS",
	SettingInitialWindowSize:     "INITIAL_WINDOW_SIZE",
	SettingMaxFrameSize:          "MAX_FRAME_SIZE",
	SettingMaxHeaderListSize:     "MAX_HEADER_LIST_SIZE",
	SettingEnableConnectProtocol: "ENABLE_CONNECT_PROTOCOL",
	SettingNoRFC7540Priorities:   "NO_RFC7540_PRIORITIES",
}

func (s SettingID) String() string {
	if n, ok := settingNames[s]; ok {
		return n
	}
	return "UNKNOWN_SETTING_" + strconv.Itoa(int(s))
}

// A Setting is one parameter of a SETTINGS frame.
type Setting struct {
	ID  SettingID
	Val uint32
}

// Valid reports whether the value is legal for its identifier, returning the
// connection error a receiver must signal otherwise (RFC 9113 §6.5.2, RFC
// 8441 §3, RFC 9218 §2.1). Unknown identifiers are always valid: they must be
// ignored.
func (s Setting) Valid() error {
	switch s.ID {
	case SettingEnablePush:
		if s.Val > 1 {
			return ErrSettingEnablePush
		}
	case SettingInitialWindowSize:
		if s.Val > MaxWindowSize {
			return ErrSettingWindowSize
		}
	case SettingMaxFrameSize:
		if s.Val < MinMaxFrameSize || s.Val > MaxMaxFrameSize {
			return ErrSettingFrameSize
		}
	case SettingEnableConnectProtocol:
		if s.Val > 1 {
			return ErrSettingConnectProto
		}
	case SettingNoRFC7540Priorities:
		if s.Val > 1 {
			return ErrSettingNoPriorities
		}
	}
	return nil
}

// parseSettings parses a SETTINGS frame (RFC 9113 §6.5). Setting values are
// not checked here; see Setting.Valid.
func parseSettings(f *Frame, payload []byte) error {
	if f.StreamID != 0 {
		return ErrSettingsStream
	}
	if f.Flags.Has(FlagSettingsAck) {
		if len(payload) != 0 {
			// "Receipt of a SETTINGS frame with the ACK flag set and a length
			// field value other than 0 MUST be treated as a connection error
			// of type FRAME_SIZE_ERROR."
			return ErrSettingsAckLen
		}
		return nil
	}
	if len(payload)%6 != 0 {
		return ErrSettingsLength
	}
	f.settings = payload
	return nil
}

// NumSettings returns the number of parameters in a SETTINGS frame.
func (f *Frame) NumSettings() int { return len(f.settings) / 6 }

// Setting returns the i'th parameter of a SETTINGS frame, in wire order.
func (f *Frame) Setting(i int) Setting {
	p := f.settings[i*6:]
	return Setting{ID: SettingID(p[0])<<8 | SettingID(p[1]), Val: readUint32(p[2:])}
}

// AppendSettings appends a SETTINGS frame carrying settings, in order
// (RFC 9113 §6.5).
func AppendSettings(dst []byte, settings []Setting) []byte {
	dst = AppendHeader(dst, Header{Length: uint32(6 * len(settings)), Type: TypeSettings})
	for _, s := range settings {
		dst = append(dst, byte(s.ID>>8), byte(s.ID))
		dst = appendUint32(dst, s.Val)
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with the ACK flag.
func AppendSettingsAck(dst []byte) []byte {
	return AppendHeader(dst, Header{Type: TypeSettings, Flags: FlagSettingsAck})
}
