module github.com/h2proto/h2/cmd/h2

go 1.26.0

require (
	github.com/h2proto/h2 v0.0.0-00010101000000-000000000000
	golang.org/x/net v0.62.0
)

require (
	github.com/quic-go/qpack v0.6.0 // indirect
	github.com/quic-go/quic-go v0.65.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/h2proto/h2/adapters/gnet v0.0.0-00010101000000-000000000000
	github.com/h2proto/h2/adapters/h3 v0.0.0-00010101000000-000000000000
	github.com/panjf2000/ants/v2 v2.11.3 // indirect
	github.com/panjf2000/gnet/v2 v2.9.7 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)

replace github.com/h2proto/h2 => ../..

replace github.com/h2proto/h2/adapters/gnet => ../../adapters/gnet

replace github.com/h2proto/h2/adapters/h3 => ../../adapters/h3
