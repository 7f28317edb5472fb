// Package h3 is being built (issue 6).
package h3
