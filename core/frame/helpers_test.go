package frame

import (
	"bytes"
	hexenc "encoding/hex"
	"fmt"
	"strings"
)

// hx decodes a hand-written hex string; spaces, newlines and '|' separators
// (used to mark field boundaries in the vectors) are ignored.
func hx(s string) []byte {
	s = strings.NewReplacer(" ", "", "\n", "", "\t", "", "|", "").Replace(s)
	b, err := hexenc.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("bad hex vector %q: %v", s, err))
	}
	return b
}

// settingsOf returns the parameters of a SETTINGS frame through the public
// accessors.
func settingsOf(f *Frame) []Setting {
	var out []Setting
	for i := 0; i < f.NumSettings(); i++ {
		out = append(out, f.Setting(i))
	}
	return out
}

// diffFrame compares every parsed field of got and want (SETTINGS via
// NumSettings/Setting) and describes the differences; "" means equal. Nil and
// empty Data are equal.
func diffFrame(got, want *Frame) string {
	var d []string
	add := func(field string, g, w any) {
		d = append(d, fmt.Sprintf("%s: got %v, want %v", field, g, w))
	}
	if got.Header != want.Header {
		add("Header", got.Header, want.Header)
	}
	if !bytes.Equal(got.Data, want.Data) {
		add("Data", fmt.Sprintf("%x", got.Data), fmt.Sprintf("%x", want.Data))
	}
	if got.Padded != want.Padded {
		add("Padded", got.Padded, want.Padded)
	}
	if got.PadLength != want.PadLength {
		add("PadLength", got.PadLength, want.PadLength)
	}
	if got.HasPriority != want.HasPriority {
		add("HasPriority", got.HasPriority, want.HasPriority)
	}
	if got.Priority != want.Priority {
		add("Priority", got.Priority, want.Priority)
	}
	if got.ErrCode != want.ErrCode {
		add("ErrCode", got.ErrCode, want.ErrCode)
	}
	if got.LastStreamID != want.LastStreamID {
		add("LastStreamID", got.LastStreamID, want.LastStreamID)
	}
	if got.PromisedID != want.PromisedID {
		add("PromisedID", got.PromisedID, want.PromisedID)
	}
	if got.Increment != want.Increment {
		add("Increment", got.Increment, want.Increment)
	}
	if got.PingData != want.PingData {
		add("PingData", got.PingData, want.PingData)
	}
	gs, ws := settingsOf(got), settingsOf(want)
	if fmt.Sprint(gs) != fmt.Sprint(ws) {
		add("Settings", gs, ws)
	}
	return strings.Join(d, "; ")
}

// definedFlags is the set of flag bits RFC 9113 defines for t; all bits for
// an unknown type, whose flags are carried verbatim.
func definedFlags(t Type) Flags {
	switch t {
	case TypeData:
		return FlagDataEndStream | FlagDataPadded
	case TypeHeaders:
		return FlagHeadersEndStream | FlagHeadersEndHeaders | FlagHeadersPadded | FlagHeadersPriority
	case TypeSettings:
		return FlagSettingsAck
	case TypePing:
		return FlagPingAck
	case TypePushPromise:
		return FlagPushPromiseEndHeaders | FlagPushPromisePadded
	case TypeContinuation:
		return FlagContinuationEndHeaders
	case TypePriority, TypeRSTStream, TypeGoAway, TypeWindowUpdate:
		return 0
	}
	return 0xff
}
