module github.com/h2proto/h2

go 1.26.0

require (
	golang.org/x/net v0.62.0
	pgregory.net/rapid v1.3.0
)

require golang.org/x/text v0.43.0 // indirect
