package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	h2 "github.com/h2proto/h2"
)

func TestServeH3AndGetH3(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("file body\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addrCh := make(chan net.Addr, 1)
	stop := make(chan struct{})
	served := make(chan error, 1)
	var serveOut bytes.Buffer
	go func() {
		served <- serveH3("127.0.0.1:0", "", "", dir, func(a net.Addr) { addrCh <- a }, stop, &serveOut)
	}()
	var addr net.Addr
	select {
	case addr = <-addrCh:
	case err := <-served:
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := "https://" + addr.String()
	for _, tc := range []struct {
		path, method, body string
		want               []string
	}{
		{"/", "", "", []string{":status: 200", helloBody}},
		{"/echo", "", "ping pong", []string{":status: 200", "content-type: application/octet-stream", "ping pong"}},
		{"/f.txt", "", "", []string{":status: 200", "content-length: 10", "file body\n"}},
		{"/missing", "", "", []string{":status: 404", "not found"}},
		{"/f.txt", "DELETE", "", []string{":status: 405"}},
	} {
		var out bytes.Buffer
		var body *strings.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		var err error
		if body != nil {
			err = getH3(ctx, base+tc.path, tc.method, nil, body, true, &out, nil)
		} else {
			err = getH3(ctx, base+tc.path, tc.method, nil, nil, true, &out, nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s %s: output lacks %q:\n%s", tc.method, tc.path, w, out.String())
			}
		}
	}
	var head, out bytes.Buffer
	if err := getH3(ctx, base+"/echo", "PUT", []h2.HeaderField{{Name: "x-test", Value: "1"}}, strings.NewReader("to file"), true, &head, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "to file" || strings.Contains(head.String(), "to file") || !strings.Contains(head.String(), ":status: 200") {
		t.Errorf("bodyOut: head %q, body %q", head.String(), out.String())
	}
	if err := getH3(ctx, "http://"+addr.String()+"/", "", nil, nil, true, &bytes.Buffer{}, nil); err == nil {
		t.Error("getH3 accepted an http:// URL")
	}
	if err := getH3(ctx, base+"/", "", nil, nil, false, &bytes.Buffer{}, nil); err == nil {
		t.Error("getH3 trusted a self-signed certificate without -k")
	}
	close(stop)
	if err := <-served; err != nil {
		t.Fatalf("serveH3: %v", err)
	}
	if !strings.Contains(serveOut.String(), "HTTP/3 over QUIC") {
		t.Errorf("serveH3 printed %q", serveOut.String())
	}
}
