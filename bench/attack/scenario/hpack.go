package scenario

// A minimal HPACK encoder of our own (RFC 7541), so that every byte of an
// attack is deliberate: no Huffman coding, and the dynamic table changes
// only where a scenario inserts an entry on purpose. Request fields are sent
// as literals without indexing (§6.2.2), which leave the table alone, so a
// probe request can be encoded at any point of any scenario.

// appendInt appends v with an n-bit prefix; first holds the bits above the
// prefix (RFC 7541 §5.1).
func appendInt(dst []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	v -= max
	for v >= 128 {
		dst = append(dst, byte(v%128)|0x80)
		v /= 128
	}
	return append(dst, byte(v))
}

// appendString appends a string literal without Huffman coding (§5.2).
func appendString(dst []byte, s string) []byte {
	dst = appendInt(dst, 0, 7, uint64(len(s)))
	return append(dst, s...)
}

// appendLiteral appends a literal field without indexing, new name
// (§6.2.2): the decoder's table is not touched.
func appendLiteral(dst []byte, name, value string) []byte {
	dst = append(dst, 0x00)
	dst = appendString(dst, name)
	return appendString(dst, value)
}

// appendIndexedLiteral appends a literal field with incremental indexing,
// new name (§6.2.1): the decoder inserts it at dynamic index 62.
func appendIndexedLiteral(dst []byte, name, value string) []byte {
	dst = append(dst, 0x40)
	dst = appendString(dst, name)
	return appendString(dst, value)
}

// appendIndexed appends an indexed field representation (§6.1).
func appendIndexed(dst []byte, index uint64) []byte {
	return appendInt(dst, 0x80, 7, index)
}

// appendFields appends name/value pairs as literals without indexing.
func appendFields(dst []byte, kv ...string) []byte {
	for i := 0; i+1 < len(kv); i += 2 {
		dst = appendLiteral(dst, kv[i], kv[i+1])
	}
	return dst
}
