package core

import (
	"math"
	"time"

	"github.com/h2proto/h2/core/frame"
)

// Unlimited is the value of a setting the sender left unbounded (the initial
// value of SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_MAX_HEADER_LIST_SIZE).
const Unlimited = math.MaxUint32

// Settings are the SETTINGS parameters (RFC 9113 §6.5.2, RFC 8441 §3, RFC
// 9218 §2.1) in effect in one direction. LocalSettings are what we advertised
// and the peer acknowledged; PeerSettings are what the peer advertised.
type Settings struct {
	HeaderTableSize       uint32
	EnablePush            bool
	MaxConcurrentStreams  uint32 // Unlimited if not sent
	InitialWindowSize     uint32
	MaxFrameSize          uint32
	MaxHeaderListSize     uint32 // Unlimited if not sent
	EnableConnectProtocol bool
	NoRFC7540Priorities   bool
}

// InitialSettings returns the values in effect before any SETTINGS frame is
// processed (RFC 9113 §6.5.2).
func InitialSettings() Settings {
	return Settings{
		HeaderTableSize:      4096,
		EnablePush:           true,
		MaxConcurrentStreams: Unlimited,
		InitialWindowSize:    65535,
		MaxFrameSize:         frame.MinMaxFrameSize,
		MaxHeaderListSize:    Unlimited,
	}
}

// apply sets one parameter. Unknown identifiers are ignored (RFC 9113
// §6.5.2). The value must have passed frame.Setting.Valid.
func (s *Settings) apply(st frame.Setting) {
	switch st.ID {
	case frame.SettingHeaderTableSize:
		s.HeaderTableSize = st.Val
	case frame.SettingEnablePush:
		s.EnablePush = st.Val == 1
	case frame.SettingMaxConcurrentStreams:
		s.MaxConcurrentStreams = st.Val
	case frame.SettingInitialWindowSize:
		s.InitialWindowSize = st.Val
	case frame.SettingMaxFrameSize:
		s.MaxFrameSize = st.Val
	case frame.SettingMaxHeaderListSize:
		s.MaxHeaderListSize = st.Val
	case frame.SettingEnableConnectProtocol:
		s.EnableConnectProtocol = st.Val == 1
	case frame.SettingNoRFC7540Priorities:
		s.NoRFC7540Priorities = st.Val == 1
	}
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// appendDiff appends the parameters whose value in s differs from base. The
// first SETTINGS frame is diffed against InitialSettings, so only
// non-default values are sent.
func (s *Settings) appendDiff(dst []frame.Setting, base *Settings) []frame.Setting {
	add := func(id frame.SettingID, v, old uint32) {
		if v != old {
			dst = append(dst, frame.Setting{ID: id, Val: v})
		}
	}
	add(frame.SettingHeaderTableSize, s.HeaderTableSize, base.HeaderTableSize)
	add(frame.SettingEnablePush, b2u(s.EnablePush), b2u(base.EnablePush))
	add(frame.SettingMaxConcurrentStreams, s.MaxConcurrentStreams, base.MaxConcurrentStreams)
	add(frame.SettingInitialWindowSize, s.InitialWindowSize, base.InitialWindowSize)
	add(frame.SettingMaxFrameSize, s.MaxFrameSize, base.MaxFrameSize)
	add(frame.SettingMaxHeaderListSize, s.MaxHeaderListSize, base.MaxHeaderListSize)
	add(frame.SettingEnableConnectProtocol, b2u(s.EnableConnectProtocol), b2u(base.EnableConnectProtocol))
	add(frame.SettingNoRFC7540Priorities, b2u(s.NoRFC7540Priorities), b2u(base.NoRFC7540Priorities))
	return dst
}

// localSettings tracks what we advertised: the acknowledged values and the
// SETTINGS frames still awaiting their ACK, oldest first (RFC 9113 §6.5.3:
// "the values ... are not applied until the ACK is received" from the
// sender's point of view).
type localSettings struct {
	acked   Settings
	pending []Settings  // snapshot after each unacknowledged SETTINGS frame
	sentAt  []time.Time // when each pending frame was sent, for its ACK timer
}

// latest is the newest advertised snapshot, acknowledged or not.
func (l *localSettings) latest() *Settings {
	if n := len(l.pending); n > 0 {
		return &l.pending[n-1]
	}
	return &l.acked
}

// pendingCeiling is ceiling over the pending snapshots only.
func (l *localSettings) pendingCeiling(get func(*Settings) uint32) uint32 {
	var v uint32
	for i := range l.pending {
		v = max(v, get(&l.pending[i]))
	}
	return v
}

// ceiling returns the largest value of a parameter across the acknowledged
// and pending snapshots: until an ACK arrives the peer may be using either,
// so limits on what we accept use the most generous one.
func (l *localSettings) ceiling(get func(*Settings) uint32) uint32 {
	v := get(&l.acked)
	for i := range l.pending {
		v = max(v, get(&l.pending[i]))
	}
	return v
}
