package core

import (
	"time"

	"golang.org/x/net/http2/hpack"
)

// HeaderField is one header or trailer field. Pseudo-header fields (":method",
// ":status", …) come first, as on the wire (RFC 9113 §8.3).
type HeaderField = hpack.HeaderField

// An EventKind says what happened; it selects which Event fields are set.
type EventKind uint8

// Event kinds. "Terminal" events end a stream: every stream the application
// knows of (opened with OpenStream, or announced by EventRequest) gets
// exactly one, EventStreamClosed or EventStreamReset, and no event after it.
const (
	EventNone EventKind = iota

	// EventConnected: the peer's preface arrived and it acknowledged our
	// first SETTINGS.
	EventConnected

	// EventRequest (server): a new stream. Headers holds the request's
	// fields; EndStream reports a request without content.
	EventRequest

	// EventInformational (client): a 1xx response (not 101). Status and
	// Headers are set; more responses follow.
	EventInformational

	// EventResponse (client): the final response. Status, Headers and
	// EndStream are set.
	EventResponse

	// EventData: content. Data may be empty when only EndStream is reported.
	// With manual flow control, call Consume(StreamID, len(Data)) once the
	// bytes are used.
	EventData

	// EventTrailers: the trailer section, which ends the stream's receive
	// side (RFC 9113 §8.1).
	EventTrailers

	// EventStreamReset (terminal): the stream was reset. Code is the
	// RST_STREAM code; Remote reports that the peer sent it; Token names the
	// cause; Retryable (client) reports that the server did not process the
	// request (REFUSED_STREAM, or above a GOAWAY's last stream ID), so it is
	// safe to send again; Err is set when the whole connection ended. For a
	// server stream reset by the peer — or by us because of a stream error
	// the peer provoked (Remote false) — the application still holds the
	// stream until it calls ReleaseStream; only its own ResetStream releases
	// it implicitly.
	EventStreamReset

	// EventStreamClosed (terminal): both directions ended normally.
	EventStreamClosed

	// EventWritable: a stream on which SendData returned ErrSendBufferFull
	// has room again.
	EventWritable

	// EventSettings: the peer's SETTINGS were applied; see PeerSettings.
	EventSettings

	// EventSettingsAck: the peer acknowledged our SETTINGS; see
	// LocalSettings.
	EventSettingsAck

	// EventPingAck: the peer acknowledged a Ping. PingData and RTT are set.
	EventPingAck

	// EventGoAway: the peer sent GOAWAY. LastStreamID, Code and Data (the
	// debug data) are set. Streams above LastStreamID get a Retryable
	// EventStreamReset.
	EventGoAway

	// EventAbuse: a defence fired; Abuse names it. The connection closes with
	// GOAWAY ENHANCE_YOUR_CALM.
	EventAbuse

	// EventClosed: the connection is over and its last bytes were handed to
	// PollTransmit. Err is nil after a clean close, else a *ConnError or
	// ErrConnectionLost.
	EventClosed
)

var eventNames = [...]string{
	EventNone:          "none",
	EventConnected:     "connected",
	EventRequest:       "request",
	EventInformational: "informational",
	EventResponse:      "response",
	EventData:          "data",
	EventTrailers:      "trailers",
	EventStreamReset:   "stream_reset",
	EventStreamClosed:  "stream_closed",
	EventWritable:      "writable",
	EventSettings:      "settings",
	EventSettingsAck:   "settings_ack",
	EventPingAck:       "ping_ack",
	EventGoAway:        "goaway",
	EventAbuse:         "abuse",
	EventClosed:        "closed",
}

func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "event_" + itoa(int64(k))
}

// An Event is one thing that happened on the connection, returned by
// PollEvent. It is a plain value; Kind says which fields are set.
//
// Headers and Data are borrowed: they alias the bytes given to Receive or
// memory the Conn reuses. They stay valid until the next call to Receive or
// HandleTimeout, provided the caller does not modify the slice it gave to
// Receive. Copy what must live longer.
type Event struct {
	Kind     EventKind
	StreamID uint32

	Headers   []HeaderField // Request, Informational, Response, Trailers
	Status    int           // Informational, Response
	Data      []byte        // Data; GoAway: debug data
	EndStream bool          // Request, Response, Data: nothing more will be received

	Code         ErrCode // StreamReset, GoAway
	Remote       bool    // StreamReset: sent by the peer
	Retryable    bool    // StreamReset (client): not processed by the server
	Token        string  // StreamReset: stable name of the cause
	LastStreamID uint32  // GoAway

	RTT      time.Duration // PingAck
	PingData [8]byte       // PingAck

	Abuse AbuseKind // Abuse
	Err   error     // Closed; StreamReset when the connection ended
}

// StreamErr returns the reset described by an EventStreamReset as an error.
func (e *Event) StreamErr() *StreamError {
	if e.Kind != EventStreamReset {
		return nil
	}
	return &StreamError{StreamID: e.StreamID, Code: e.Code, Remote: e.Remote, Token: e.Token, Retryable: e.Retryable}
}

// Header returns the value of the first field called name, or "".
func (e *Event) Header(name string) string {
	for i := range e.Headers {
		if e.Headers[i].Name == name {
			return e.Headers[i].Value
		}
	}
	return ""
}

// eventQueue is a growable ring of events.
type eventQueue struct {
	buf  []Event
	head int
	n    int
}

// The ring's length is a power of two, so positions wrap with a mask
// rather than a division.
func (q *eventQueue) push(e Event) {
	if q.n == len(q.buf) {
		nb := make([]Event, max(8, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			nb[i] = *q.at(i)
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = e
	q.n++
}

func (q *eventQueue) pop() (Event, bool) {
	if q.n == 0 {
		return Event{}, false
	}
	e := q.buf[q.head]
	q.buf[q.head] = Event{} // drop references
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	if q.n == 0 && len(q.buf) > retainedEvents {
		q.buf, q.head = nil, 0 // a burst is over: give its slots back
	}
	return e, true
}

// at returns the i'th queued event, oldest first.
func (q *eventQueue) at(i int) *Event {
	return &q.buf[(q.head+i)&(len(q.buf)-1)]
}
