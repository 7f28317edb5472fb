module github.com/h2proto/h2/adapters/gnet

go 1.26.0

require github.com/h2proto/h2 v0.0.0-00010101000000-000000000000

replace github.com/h2proto/h2 => ../..
