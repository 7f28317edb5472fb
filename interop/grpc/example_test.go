package grpcinterop_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	h2 "github.com/h2proto/h2"
	grpcinterop "github.com/h2proto/h2/interop/grpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A grpc-go client calling a unary echo method served by h2proto's
// runtime with the hand-written gRPC server, over loopback h2c.
func Example() {
	echo := &grpcinterop.Server{Unary: map[string]grpcinterop.UnaryFunc{
		"/demo.Echo/Say": func(_ context.Context, req []byte) ([]byte, error) {
			return append([]byte("echo: "), req...), nil
		},
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &h2.Server{Handler: echo}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	cc, err := grpc.NewClient("passthrough:///"+l.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(grpcinterop.Codec{})))
	if err != nil {
		log.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, resp := []byte("hello"), []byte(nil)
	if err := cc.Invoke(ctx, "/demo.Echo/Say", &req, &resp); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", resp)
	// Output:
	// echo: hello
}
