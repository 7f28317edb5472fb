package frame

import (
	"strconv"
	"strings"
)

var flagNames = [...]struct {
	t    Type
	flag Flags
	name string
}{
	{TypeData, FlagDataEndStream, "END_STREAM"},
	{TypeData, FlagDataPadded, "PADDED"},
	{TypeHeaders, FlagHeadersEndStream, "END_STREAM"},
	{TypeHeaders, FlagHeadersEndHeaders, "END_HEADERS"},
	{TypeHeaders, FlagHeadersPadded, "PADDED"},
	{TypeHeaders, FlagHeadersPriority, "PRIORITY"},
	{TypeSettings, FlagSettingsAck, "ACK"},
	{TypePing, FlagPingAck, "ACK"},
	{TypePushPromise, FlagPushPromiseEndHeaders, "END_HEADERS"},
	{TypePushPromise, FlagPushPromisePadded, "PADDED"},
	{TypeContinuation, FlagContinuationEndHeaders, "END_HEADERS"},
}

// String describes the frame on one line for traces, in the spirit of
// nghttp -v: type, stream, length, flags by name, then the type's fields.
// Field block fragments and data are summarised by length, never printed.
func (f *Frame) String() string {
	var b strings.Builder
	b.WriteString(f.Type.String())
	b.WriteString(" stream=")
	b.WriteString(strconv.FormatUint(uint64(f.StreamID), 10))
	b.WriteString(" len=")
	b.WriteString(strconv.FormatUint(uint64(f.Length), 10))
	if f.Flags != 0 {
		b.WriteString(" flags=")
		sep := ""
		rest := f.Flags
		for _, fn := range flagNames {
			if fn.t == f.Type && f.Flags.Has(fn.flag) {
				b.WriteString(sep + fn.name)
				sep = "|"
				rest &^= fn.flag
			}
		}
		if rest != 0 {
			b.WriteString(sep + "0x" + strconv.FormatUint(uint64(rest), 16))
		}
	}
	switch f.Type {
	case TypeData:
		if f.Padded {
			b.WriteString(" pad=" + strconv.Itoa(int(f.PadLength)))
		}
	case TypeHeaders, TypePriority:
		if f.HasPriority {
			b.WriteString(" dep=" + strconv.FormatUint(uint64(f.Priority.StreamDep), 10))
			b.WriteString(" weight=" + strconv.Itoa(int(f.Priority.Weight)+1))
			if f.Priority.Exclusive {
				b.WriteString(" exclusive")
			}
		}
	case TypeRSTStream:
		b.WriteString(" code=" + f.ErrCode.String())
	case TypeSettings:
		for i := 0; i < f.NumSettings(); i++ {
			s := f.Setting(i)
			b.WriteString(" " + s.ID.String() + "=" + strconv.FormatUint(uint64(s.Val), 10))
		}
	case TypePushPromise:
		b.WriteString(" promised=" + strconv.FormatUint(uint64(f.PromisedID), 10))
	case TypePing:
		b.WriteString(" data=0x" + hex(f.PingData[:]))
	case TypeGoAway:
		b.WriteString(" last_stream=" + strconv.FormatUint(uint64(f.LastStreamID), 10))
		b.WriteString(" code=" + f.ErrCode.String())
		if len(f.Data) > 0 {
			b.WriteString(" debug=" + strconv.Quote(string(f.Data)))
		}
	case TypeWindowUpdate:
		b.WriteString(" increment=" + strconv.FormatUint(uint64(f.Increment), 10))
	}
	return b.String()
}

func hex(p []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(p))
	for _, c := range p {
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}
