package frame

import "strconv"

// HeaderLen is the length of the frame header that starts every frame
// (RFC 9113 §4.1).
const HeaderLen = 9

// Frame-size bounds of RFC 9113 §4.2 and §6.5.2.
const (
	// MinMaxFrameSize is the initial and smallest legal value of
	// SETTINGS_MAX_FRAME_SIZE.
	MinMaxFrameSize = 1 << 14
	// MaxMaxFrameSize is the largest legal value of SETTINGS_MAX_FRAME_SIZE.
	MaxMaxFrameSize = 1<<24 - 1
	// MaxWindowSize is the largest flow-control window (RFC 9113 §6.9.1).
	MaxWindowSize = 1<<31 - 1
	// MaxStreamID is the largest stream identifier (RFC 9113 §5.1.1).
	MaxStreamID = 1<<31 - 1
)

// A Type is the 8-bit type of a frame (RFC 9113 §4.1, §6).
type Type uint8

// The frame types defined by RFC 9113 §6.
const (
	TypeData         Type = 0x0
	TypeHeaders      Type = 0x1
	TypePriority     Type = 0x2
	TypeRSTStream    Type = 0x3
	TypeSettings     Type = 0x4
	TypePushPromise  Type = 0x5
	TypePing         Type = 0x6
	TypeGoAway       Type = 0x7
	TypeWindowUpdate Type = 0x8
	TypeContinuation Type = 0x9
)

var typeNames = [...]string{
	TypeData:         "DATA",
	TypeHeaders:      "HEADERS",
	TypePriority:     "PRIORITY",
	TypeRSTStream:    "RST_STREAM",
	TypeSettings:     "SETTINGS",
	TypePushPromise:  "PUSH_PROMISE",
	TypePing:         "PING",
	TypeGoAway:       "GOAWAY",
	TypeWindowUpdate: "WINDOW_UPDATE",
	TypeContinuation: "CONTINUATION",
}

// Known reports whether t is one of the ten types defined by RFC 9113.
// Frames of other types must be ignored by a receiver (RFC 9113 §4.1), except
// in the middle of a field block (RFC 9113 §6.10).
func (t Type) Known() bool { return int(t) < len(typeNames) }

func (t Type) String() string {
	if t.Known() {
		return typeNames[t]
	}
	return "UNKNOWN_FRAME_TYPE_" + strconv.Itoa(int(t))
}

// Flags are the 8 flag bits of a frame header. Their meaning depends on the
// frame type.
type Flags uint8

// Has reports whether every bit of v is set in f.
func (f Flags) Has(v Flags) bool { return f&v == v }

// Flag bits (RFC 9113 §6).
const (
	FlagDataEndStream Flags = 0x1
	FlagDataPadded    Flags = 0x8

	FlagHeadersEndStream  Flags = 0x1
	FlagHeadersEndHeaders Flags = 0x4
	FlagHeadersPadded     Flags = 0x8
	FlagHeadersPriority   Flags = 0x20

	FlagSettingsAck Flags = 0x1

	FlagPingAck Flags = 0x1

	FlagContinuationEndHeaders Flags = 0x4

	FlagPushPromiseEndHeaders Flags = 0x4
	FlagPushPromisePadded     Flags = 0x8
)

// An ErrCode is an HTTP/2 error code carried by RST_STREAM and GOAWAY
// (RFC 9113 §7).
type ErrCode uint32

// Error codes of RFC 9113 §7.
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	ErrCodeNo:                 "NO_ERROR",
	ErrCodeProtocol:           "PROTOCOL_ERROR",
	ErrCodeInternal:           "INTERNAL_ERROR",
	ErrCodeFlowControl:        "FLOW_CONTROL_ERROR",
	ErrCodeSettingsTimeout:    "SETTINGS_TIMEOUT",
	ErrCodeStreamClosed:       "STREAM_CLOSED",
	ErrCodeFrameSize:          "FRAME_SIZE_ERROR",
	ErrCodeRefusedStream:      "REFUSED_STREAM",
	ErrCodeCancel:             "CANCEL",
	ErrCodeCompression:        "COMPRESSION_ERROR",
	ErrCodeConnect:            "CONNECT_ERROR",
	ErrCodeEnhanceYourCalm:    "ENHANCE_YOUR_CALM",
	ErrCodeInadequateSecurity: "INADEQUATE_SECURITY",
	ErrCodeHTTP11Required:     "HTTP_1_1_REQUIRED",
}

func (c ErrCode) String() string {
	if c < ErrCode(len(errCodeNames)) {
		return errCodeNames[c]
	}
	return "UNKNOWN_ERROR_CODE_0x" + strconv.FormatUint(uint64(c), 16)
}

// A Header is the 9-byte header of every frame (RFC 9113 §4.1).
type Header struct {
	Length   uint32 // payload length, 24 bits
	Type     Type
	Flags    Flags
	StreamID uint32 // 31 bits; the reserved bit is dropped when parsing
}

// ParseHeader decodes the frame header at the start of p. It returns
// ErrNeedMore if p is shorter than HeaderLen.
func ParseHeader(p []byte) (Header, error) {
	if len(p) < HeaderLen {
		return Header{}, ErrNeedMore
	}
	return Header{
		Length:   uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2]),
		Type:     Type(p[3]),
		Flags:    Flags(p[4]),
		StreamID: readUint32(p[5:]) & MaxStreamID,
	}, nil
}

// AppendHeader appends the 9-byte encoding of h. Length is truncated to 24
// bits and StreamID to 31 bits.
func AppendHeader(dst []byte, h Header) []byte {
	return append(dst,
		byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags),
		byte(h.StreamID>>24)&0x7f, byte(h.StreamID>>16), byte(h.StreamID>>8), byte(h.StreamID))
}

func readUint32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

func appendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
