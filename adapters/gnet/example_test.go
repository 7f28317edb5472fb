package h2gnet_test

import (
	"context"
	"fmt"
	"net"
	"time"

	h2 "github.com/h2proto/h2"
	h2gnet "github.com/h2proto/h2/adapters/gnet"
)

// A server on one event loop answering every request inline, and one
// request to it over loopback with the runtime's h2c client.
func Example() {
	ready := make(chan net.Addr, 1)
	srv := &h2gnet.Server{
		Loops: 1,
		Ready: func(a net.Addr) { ready <- a },
		Handler: h2gnet.HandlerFunc(func(s h2gnet.Stream, req *h2gnet.Request) {
			_ = s.Respond(200, nil, []byte("hello, "+req.Path+"\n"))
		}),
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe("127.0.0.1:0") }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-served: // it could not listen
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := h2.Dial(ctx, addr.String(), &h2.ClientOptions{H2C: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := c.Request(ctx, c.NewRequest("GET", "/world"), &h2.RequestOptions{EndStream: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := s.Response(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := s.ReadAll()
	fmt.Printf("%d %s", resp.Status, body)

	_ = c.Close()
	_ = srv.Shutdown(ctx)
	fmt.Println(<-served)
	// Output:
	// 200 hello, /world
	// h2gnet: server closed
}
