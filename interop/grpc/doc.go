// Package grpcinterop is being built (issue 6).
package grpcinterop
