package nethttp_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

// srvResult is what a client saw of one response.
type srvResult struct {
	Status  int
	Header  http.Header // Date removed
	Body    string      // a digest when long
	Trailer http.Header
	Info    []int // 1xx statuses, in order
	CL      int64
}

func (r srvResult) String() string {
	return fmt.Sprintf("status %d CL %d info %v\nheader %v\ntrailer %v\nbody %q", r.Status, r.CL, r.Info, r.Header, r.Trailer, r.Body)
}

// srvCase is one exchange run on every implementation: the responses must
// be the same, and want checks what they must be.
type srvCase struct {
	name    string
	handler http.HandlerFunc
	request func(base string) *http.Request
	want    func(t *testing.T, r srvResult)
}

func srvGet(path string) func(string) *http.Request {
	return func(base string) *http.Request {
		req, _ := http.NewRequest("GET", base+path, nil)
		return req
	}
}

func srvDigest(b []byte) string {
	if len(b) <= 256 {
		return string(b)
	}
	return fmt.Sprintf("%d bytes sha256 %x", len(b), sha256.Sum256(b))
}

// srvCheckReader is a request body that sets the request's trailer when
// the client has sent it all.
type srvCheckReader struct {
	r   io.Reader
	req *http.Request
}

func (c *srvCheckReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err == io.EOF {
		c.req.Trailer.Set("X-Checksum", "abc123")
	}
	return n, err
}

var srvBig = testPattern(8 << 20)

var srvCases = []srvCase{
	{
		name:    "get-text-sniffed",
		handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello, world\n") },
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 200 || r.Body != "hello, world\n" || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" || r.CL != 13 {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "get-html-sniffed-two-writes",
		handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<html><body>"))
			_, _ = w.Write([]byte("hi</body></html>"))
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Header.Get("Content-Type") != "text/html; charset=utf-8" || r.Header.Get("Content-Length") != "28" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "explicit-type-and-status",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			w.WriteHeader(201)
			_, _ = io.WriteString(w, `{"ok":true}`)
			w.Header().Set("X-Too-Late", "1")
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 201 || r.Header.Get("Content-Type") != "application/json" ||
				!reflect.DeepEqual(r.Header["X-Multi"], []string{"a", "b"}) || r.Header.Get("X-Too-Late") != "" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name:    "empty-200",
		handler: func(w http.ResponseWriter, r *http.Request) {},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 200 || r.Body != "" || r.Header.Get("Content-Length") != "0" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name:    "no-content-204",
		handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) },
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 204 || r.Body != "" || r.Header.Get("Content-Length") != "" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "not-modified-304",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(304)
			if _, err := w.Write([]byte("x")); err != http.ErrBodyNotAllowed {
				panic(fmt.Sprintf("Write on 304: %v", err))
			}
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 304 || r.Body != "" || r.Header.Get("Etag") != `"v1"` {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name:    "head-counts-content",
		handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") },
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("HEAD", base+"/", nil)
			return req
		},
		want: func(t *testing.T, r srvResult) {
			if r.Status != 200 || r.Body != "" || r.Header.Get("Content-Length") != "5" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name:    "not-found",
		handler: http.NotFound,
		request: srvGet("/missing"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 404 || r.Body != "404 page not found\n" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "superfluous-write-header",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(202)
			w.WriteHeader(500)
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Status != 202 {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "flush-before-content-no-sniff",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "<html>late</html>")
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Header.Get("Content-Type") != "" || r.CL != -1 || r.Body != "<html>late</html>" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "large-response-1MiB",
		handler: func(w http.ResponseWriter, r *http.Request) {
			b := srvBig[:1<<20]
			for len(b) > 0 {
				n := min(len(b), 1000+len(b)%7000)
				_, _ = w.Write(b[:n])
				b = b[n:]
			}
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Body != srvDigest(srvBig[:1<<20]) || r.CL != -1 {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "declared-length",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10000")
			_, _ = w.Write(srvBig[:6000])
			_, _ = w.Write(srvBig[6000:10000])
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.CL != 10000 || r.Body != srvDigest(srvBig[:10000]) {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "request-fields",
		handler: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %s %s %s %d|cl=%d|host=%v|remote=%v|hostHeader=%v|cookie=%q n=%d|multi=%q|tls=%v\n",
				r.Method, r.URL, r.RequestURI, r.Proto, r.ProtoMajor, r.ContentLength,
				strings.HasPrefix(r.Host, "127.0.0.1:"), strings.HasPrefix(r.RemoteAddr, "127.0.0.1:"),
				r.Header["Host"] != nil, r.Header.Get("Cookie"), len(r.Header["Cookie"]), r.Header["X-Multi"], r.TLS != nil)
			c, err := r.Cookie("b")
			fmt.Fprintf(w, "cookie b=%v %v\n", c, err)
			n, err := r.Body.Read(make([]byte, 1))
			fmt.Fprintf(w, "body read %d %v\n", n, err)
		},
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("GET", base+"/a/b%20c?q=1&r=2", nil)
			req.AddCookie(&http.Cookie{Name: "a", Value: "1"})
			req.AddCookie(&http.Cookie{Name: "b", Value: "2"})
			req.Header.Add("X-Multi", "x")
			req.Header.Add("X-Multi", "y")
			return req
		},
		want: func(t *testing.T, r srvResult) {
			want := "GET /a/b%20c?q=1&r=2 /a/b%20c?q=1&r=2 HTTP/2.0 2|cl=0|host=true|remote=true|hostHeader=false|cookie=\"a=1; b=2\" n=1|multi=[\"x\" \"y\"]|tls=false\n" +
				"cookie b=b=2 <nil>\nbody read 0 EOF\n"
			if r.Body != want {
				t.Errorf("got %v\nwant body %q", r, want)
			}
		},
	},
	{
		name: "post-echo-8MiB-streamed",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Read")
			n, err := io.Copy(w, r.Body)
			w.Header().Set("X-Read", fmt.Sprintf("%d %v cl=%d", n, err, r.ContentLength))
		},
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/echo", srvChunked{bytes.NewReader(srvBig)})
			return req
		},
		want: func(t *testing.T, r srvResult) {
			if r.Body != srvDigest(srvBig) || r.Trailer.Get("X-Read") != "8388608 <nil> cl=-1" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "post-known-length",
		handler: func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "cl=%d read=%d err=%v sum=%x", r.ContentLength, len(b), err, sha256.Sum256(b))
		},
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/", bytes.NewReader(srvBig[:100000]))
			return req
		},
		want: func(t *testing.T, r srvResult) {
			if !strings.HasPrefix(r.Body, "cl=100000 read=100000 err=<nil>") {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "request-trailers",
		handler: func(w http.ResponseWriter, r *http.Request) {
			before := r.Trailer.Get("X-Checksum")
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "declared=%v before=%q n=%d err=%v after=%q", r.Trailer != nil, before, n, err, r.Trailer.Get("X-Checksum"))
		},
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/", nil)
			req.Body = io.NopCloser(&srvCheckReader{r: bytes.NewReader(srvBig[:50000]), req: req})
			req.ContentLength = -1
			req.Trailer = http.Header{"X-Checksum": nil}
			return req
		},
		want: func(t *testing.T, r srvResult) {
			if r.Body != `declared=true before="" n=50000 err=<nil> after="abc123"` {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "response-trailers-declared-and-prefixed",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Declared, X-Unset")
			_, _ = io.WriteString(w, "body")
			w.(http.Flusher).Flush()
			w.Header().Set("X-Declared", "d")
			w.Header().Set(http.TrailerPrefix+"X-Late", "l")
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Body != "body" || r.Trailer.Get("X-Declared") != "d" || r.Trailer.Get("X-Late") != "l" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "response-trailers-small-body",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Sum")
			_, _ = io.WriteString(w, "short")
			w.Header().Set("X-Sum", "s")
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if r.Body != "short" || r.Trailer.Get("X-Sum") != "s" || r.CL != 5 {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "early-hints-103",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "final")
		},
		request: srvGet("/"),
		want: func(t *testing.T, r srvResult) {
			if !reflect.DeepEqual(r.Info, []int{103}) || r.Status != 200 || r.Body != "final" {
				t.Errorf("got %v", r)
			}
		},
	},
	{
		name: "unread-large-upload",
		handler: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = io.WriteString(w, "too large")
		},
		request: func(base string) *http.Request {
			req, _ := http.NewRequest("POST", base+"/", srvChunked{bytes.NewReader(srvBig[:4<<20])})
			return req
		},
		want: func(t *testing.T, r srvResult) {
			if r.Status != 413 || r.Body != "too large" {
				t.Errorf("got %v", r)
			}
		},
	},
}

// srvDo runs one exchange and records what the client saw.
func srvDo(t *testing.T, run *srvRunning, req *http.Request) (srvResult, error) {
	var res srvResult
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		res.Info = append(res.Info, code)
		return nil
	}}
	req = req.WithContext(httptrace.WithClientTrace(testCtx(t), trace))
	resp, err := run.client.Do(req)
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return res, err
	}
	res.Status, res.CL, res.Body = resp.StatusCode, resp.ContentLength, srvDigest(body)
	res.Header = resp.Header.Clone()
	if res.Header.Get("Date") == "" {
		t.Errorf("no Date field")
	}
	res.Header.Del("Date")
	res.Trailer = resp.Trailer
	if resp.ProtoMajor != 2 {
		t.Errorf("response over %s", resp.Proto)
	}
	return res, nil
}

// TestServerCompare runs each case on net/http's HTTP/2 server and on the
// adapter with the same client: the responses must match and be right.
func TestServerCompare(t *testing.T) {
	for _, tc := range srvCases {
		t.Run(tc.name, func(t *testing.T) {
			results := make([]srvResult, len(srvImpls))
			for i, impl := range srvImpls {
				run := impl.start(t, tc.handler)
				res, err := srvDo(t, run, tc.request(run.base))
				if err != nil {
					t.Fatalf("%s: %v", impl.name, err)
				}
				tc.want(t, res)
				results[i] = res
			}
			for i := 1; i < len(results); i++ {
				if !reflect.DeepEqual(results[0], results[i]) {
					t.Errorf("%s and %s differ:\n%v\n---\n%v", srvImpls[0].name, srvImpls[i].name, results[0], results[i])
				}
			}
		})
	}
}
