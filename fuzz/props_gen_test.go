package fuzz

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/h2proto/h2/core"
	"github.com/h2proto/h2/core/coretest"
	"github.com/h2proto/h2/core/frame"
	"pgregory.net/rapid"
)

// Generators for the actions' arguments, and the deterministic content
// that lets the model check delivered bytes without storing them.

// propByte is byte off of the content sender sends on stream id: a hash,
// so that a byte delivered at the wrong offset, on the wrong stream or in
// the wrong direction is caught.
func propByte(id uint32, sender coretest.Side, off int64) byte {
	x := uint64(off)*0x9e3779b97f4a7c15 ^ uint64(id)<<32 ^ uint64(sender)<<63
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return byte(x)
}

// propPayload returns n bytes of content from offset off.
func propPayload(id uint32, sender coretest.Side, off int64, n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = propByte(id, sender, off+int64(i))
	}
	return p
}

// propDrawRequest draws a valid request: method, path, authority and up
// to four extra fields.
func propDrawRequest(t *rapid.T) (method string, fields []core.HeaderField) {
	method = rapid.SampledFrom([]string{"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS"}).Draw(t, "method")
	fields = []core.HeaderField{
		{Name: ":method", Value: method},
		{Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: rapid.SampledFrom([]string{"example.com", "a.test", "localhost:8443"}).Draw(t, "authority")},
		{Name: ":path", Value: "/" + rapid.StringMatching(`[a-z0-9/._-]{0,16}`).Draw(t, "path")},
	}
	return method, append(fields, propDrawFields(t, "request")...)
}

// propDrawFields draws up to four regular fields with valid names and
// values; one value in a few is long enough to need CONTINUATION frames,
// while the whole list stays below the default
// SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB).
func propDrawFields(t *rapid.T, what string) []core.HeaderField {
	name := rapid.OneOf(
		rapid.SampledFrom([]string{"accept", "accept-encoding", "user-agent", "cache-control", "x-request-id", "etag", "grpc-status"}),
		rapid.StringMatching(`x-[a-z0-9-]{1,12}`),
	)
	long := rapid.Custom(func(t *rapid.T) string {
		n := rapid.IntRange(100, 12000).Draw(t, "length")
		return strings.Repeat("h2proto-", n/8+1)[:n]
	})
	value := rapid.OneOf(rapid.Just(""), rapid.StringMatching(`[!-~]([ -~]{0,24}[!-~])?`), long)
	n := rapid.IntRange(0, 4).Draw(t, what+" extra fields")
	fields := make([]core.HeaderField, n)
	for i := range fields {
		fields[i] = core.HeaderField{Name: name.Draw(t, what+" field name"), Value: value.Draw(t, what+" field value")}
	}
	return fields
}

// propResponse is a response the server application sends.
type propResponse struct {
	status    int
	fields    []core.HeaderField // regular fields only
	respond   bool               // with Respond (headers and body at once), else SendHeaders
	body      int                // Respond: bytes of content
	end       bool               // SendHeaders: END_STREAM
	hasLength bool               // SendHeaders: a content-length field follows fields
	length    int
}

func (r propResponse) String() string {
	switch {
	case r.respond:
		return fmt.Sprintf("Respond %d (%d fields, %d-byte body)", r.status, len(r.fields), r.body)
	case r.status < 200:
		return fmt.Sprintf("informational %d (%d fields)", r.status, len(r.fields))
	}
	s := fmt.Sprintf("SendHeaders %d (%d fields", r.status, len(r.fields))
	if r.hasLength {
		s += fmt.Sprintf(", content-length %d", r.length)
	}
	if r.end {
		return s + ", END_STREAM)"
	}
	return s + ", content follows)"
}

// propDrawResponse draws final headers with SendHeaders (content to
// follow, mostly), a whole response with Respond, or an informational
// response.
func propDrawResponse(t *rapid.T, maxBody int) propResponse {
	final := rapid.SampledFrom([]int{200, 201, 204, 304, 404, 500})
	switch rapid.SampledFrom([]string{"headers", "respond", "informational"}).Draw(t, "response kind") {
	case "headers":
		r := propResponse{status: final.Draw(t, "status"), fields: propDrawFields(t, "response"),
			end: rapid.IntRange(0, 3).Draw(t, "end stream") == 3}
		if r.status != 204 { // which must not declare a length (RFC 9110 §8.6)
			r.length = propDrawLength(t, maxBody, r.end)
			r.hasLength = r.length >= 0
		}
		return r
	case "respond":
		return propResponse{status: final.Draw(t, "status"), fields: propDrawFields(t, "response"), respond: true,
			body: propDrawSize(t, maxBody, "body size")}
	}
	return propResponse{status: rapid.SampledFrom([]int{100, 103}).Draw(t, "status"), fields: propDrawFields(t, "response")}
}

// propDrawLength draws whether a message declares its content length, and
// which: 0 if it ends at once, else a drawn size; -1 for none.
func propDrawLength(t *rapid.T, maxSize int, end bool) int {
	switch {
	case !rapid.Bool().Draw(t, "content-length"):
		return -1
	case end:
		return 0
	}
	return propDrawSize(t, maxSize, "content length")
}

// propLengthField is a content-length field.
func propLengthField(n int) core.HeaderField {
	return core.HeaderField{Name: "content-length", Value: strconv.Itoa(n)}
}

// propDrawSize draws a content size, mostly small.
func propDrawSize(t *rapid.T, maxSize int, label string) int {
	return rapid.OneOf(rapid.IntRange(0, 100), rapid.IntRange(0, 5000), rapid.IntRange(0, maxSize)).Draw(t, label)
}

// propDrawCode draws an RST_STREAM code for an application's reset, one of
// them unknown to RFC 9113 (which, §7, must not trigger special behaviour).
func propDrawCode(t *rapid.T) core.ErrCode {
	return rapid.SampledFrom([]core.ErrCode{frame.ErrCodeNo, frame.ErrCodeProtocol, frame.ErrCodeInternal,
		frame.ErrCodeCancel, frame.ErrCodeRefusedStream, frame.ErrCodeEnhanceYourCalm, 0x1234}).Draw(t, "code")
}

// propDrawSettings draws one to three changes of INITIAL_WINDOW_SIZE (zero
// and 2^31-1 included), MAX_FRAME_SIZE, HEADER_TABLE_SIZE,
// MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE.
func propDrawSettings(t *rapid.T) []frame.Setting {
	values := map[frame.SettingID][]uint32{
		frame.SettingInitialWindowSize:    {0, 1, 100, 16384, 65535, 1 << 20, 1<<31 - 1},
		frame.SettingMaxFrameSize:         {1 << 14, 1<<14 + 1, 1 << 15, 1 << 20, 1<<24 - 1},
		frame.SettingHeaderTableSize:      {0, 1, 64, 4096, 65536},
		frame.SettingMaxConcurrentStreams: {0, 1, 2, 100},
		frame.SettingMaxHeaderListSize:    {100, 1000, 16384, 65536},
	}
	one := rapid.Custom(func(t *rapid.T) frame.Setting {
		id := rapid.SampledFrom([]frame.SettingID{frame.SettingInitialWindowSize, frame.SettingMaxFrameSize,
			frame.SettingHeaderTableSize, frame.SettingMaxConcurrentStreams, frame.SettingMaxHeaderListSize}).Draw(t, "parameter")
		return frame.Setting{ID: id, Val: rapid.SampledFrom(values[id]).Draw(t, id.String())}
	})
	return rapid.SliceOfN(one, 1, 3).Draw(t, "settings")
}

// propDrawAdvance draws a clock jump: below the GOAWAY drain and ACK
// timeouts, around keep-alive, or past the idle timeout.
func propDrawAdvance(t *rapid.T) time.Duration {
	ms := func(lo, hi int) *rapid.Generator[time.Duration] {
		return rapid.Map(rapid.IntRange(lo, hi), func(n int) time.Duration { return time.Duration(n) * time.Millisecond })
	}
	return rapid.OneOf(ms(0, 2000), ms(5000, 20000), ms(20000, 130000)).Draw(t, "advance")
}

// propSettings are the parameters UpdateSettings changes.
type propSettings struct {
	window, frameSize, table, maxConc, maxList uint32
}

// propInitialSettings returns what a Conn built from cfg advertises first.
func propInitialSettings(cfg core.Config) propSettings {
	def := core.DefaultConfig()
	or := func(v, d uint32) uint32 {
		if v == 0 {
			return d
		}
		return v
	}
	return propSettings{
		window:    or(cfg.InitialWindowSize, def.InitialWindowSize),
		frameSize: or(cfg.MaxFrameSize, def.MaxFrameSize),
		table:     or(cfg.HeaderTableSize, def.HeaderTableSize),
		maxConc:   or(cfg.MaxConcurrentStreams, def.MaxConcurrentStreams),
		maxList:   or(cfg.MaxHeaderListSize, def.MaxHeaderListSize),
	}
}

// propSettingsOf extracts the parameters UpdateSettings changes.
func propSettingsOf(s core.Settings) propSettings {
	return propSettings{window: s.InitialWindowSize, frameSize: s.MaxFrameSize, table: s.HeaderTableSize,
		maxConc: s.MaxConcurrentStreams, maxList: s.MaxHeaderListSize}
}

func (p *propSettings) apply(st frame.Setting) {
	switch st.ID {
	case frame.SettingInitialWindowSize:
		p.window = st.Val
	case frame.SettingMaxFrameSize:
		p.frameSize = st.Val
	case frame.SettingHeaderTableSize:
		p.table = st.Val
	case frame.SettingMaxConcurrentStreams:
		p.maxConc = st.Val
	case frame.SettingMaxHeaderListSize:
		p.maxList = st.Val
	}
}

// propListSize is the RFC 7541 §4.1 size of a field list, as
// SETTINGS_MAX_HEADER_LIST_SIZE counts it.
func propListSize(fields []core.HeaderField) uint64 {
	var n uint64
	for _, f := range fields {
		n += uint64(len(f.Name) + len(f.Value) + 32)
	}
	return n
}
