package grpcinterop

import "fmt"

// Codec is a grpc-go encoding.Codec that carries message bytes as they
// are: no protobuf. Values are *[]byte (Marshal also takes []byte).
// Unmarshal copies, because grpc-go may reuse the buffer it passes in.
// Use it with grpc.ForceCodec on a client and grpc.ForceServerCodec on a
// server; its Name becomes the content-subtype, so requests are sent as
// "application/grpc+raw".
type Codec struct{}

// Name returns "raw".
func (Codec) Name() string { return "raw" }

// Marshal returns the bytes v holds.
func (Codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case *[]byte:
		return *m, nil
	case []byte:
		return m, nil
	}
	return nil, fmt.Errorf("grpcinterop: Codec.Marshal: want *[]byte or []byte, got %T", v)
}

// Unmarshal stores a copy of data in v, which must be a *[]byte.
func (Codec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("grpcinterop: Codec.Unmarshal: want *[]byte, got %T", v)
	}
	*p = append((*p)[:0:0], data...)
	return nil
}
