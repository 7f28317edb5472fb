// Package h2gnet is being built (issue 6).
package h2gnet
