package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidJSON reports input that Redact cannot parse as one JSON value.
var ErrInvalidJSON = errors.New("invalid JSON")

// maxDepth bounds nesting as encoding/json does, so that Redact accepts
// exactly what json.Valid accepts and a hostile page cannot exhaust the stack.
const maxDepth = 10000

// Redact returns raw without the properties that hold credentials, at any
// depth. A property is a credential when its name, lower-cased, is one of:
//
//	password, passwordhash, token, accesstoken, refreshtoken, idtoken,
//	secret, clientsecret, apikey, api_key, privatekey
//
// The match is on the whole name, so "isPasswordSet" stays. Every other
// byte is kept as it was (property order, number formatting, escapes and
// whitespace), which a decode and re-encode would not do. The result never
// aliases raw. Input that is not a single valid JSON value gives an error
// wrapping ErrInvalidJSON; the error quotes no part of the input.
func Redact(raw []byte) ([]byte, error) {
	r := redactor{in: raw}
	r.space()
	if err := r.value(); err != nil {
		return nil, err
	}
	r.space()
	if r.pos != len(r.in) {
		return nil, r.fail("data after the top-level value")
	}
	return r.output(), nil
}

// isCredential reports whether a property name (its raw bytes, between the
// quotes) names a credential. Plain ASCII names, the rule in API answers,
// take the fast path; names with escapes or other characters are decoded so
// that "pass\u0077ord" or a Kelvin sign cannot smuggle a credential through.
func isCredential(name []byte) bool {
	for _, c := range name {
		if c == '\\' || c >= 0x80 {
			return isCredentialDecoded(name)
		}
	}
	const longest = len("refreshtoken")
	if len(name) > longest {
		return false
	}
	var lower [longest]byte
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return isCredentialName(string(lower[:len(name)]))
}

// isCredentialDecoded is the slow path of isCredential.
func isCredentialDecoded(name []byte) bool {
	quoted := make([]byte, 0, len(name)+2)
	quoted = append(append(append(quoted, '"'), name...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		// The scanner has checked the string, so this cannot happen; if it
		// did, dropping the property is the safe side.
		return true
	}
	return isCredentialName(strings.ToLower(s))
}

// isCredentialName is the list documented on Redact, lower-cased.
func isCredentialName(lower string) bool {
	switch lower {
	case "password", "passwordhash", "token", "accesstoken", "refreshtoken",
		"idtoken", "secret", "clientsecret", "apikey", "api_key", "privatekey":
		return true
	}
	return false
}

// span is a half-open byte range of the input that Redact leaves out.
type span struct{ from, to int }

// redactor validates its input in one pass and records the spans to leave
// out; output then copies what remains.
type redactor struct {
	in    []byte
	pos   int
	depth int
	// dropping is above zero while scanning inside a property that is
	// left out whole: nothing within it needs a span of its own.
	dropping int
	cuts     []span
}

func (r *redactor) fail(what string) error {
	return fmt.Errorf("redacting: %w: %s at offset %d", ErrInvalidJSON, what, r.pos)
}

func (r *redactor) output() []byte {
	removed := 0
	for _, c := range r.cuts {
		removed += c.to - c.from
	}
	out := make([]byte, 0, len(r.in)-removed)
	last := 0
	for _, c := range r.cuts {
		out = append(out, r.in[last:c.from]...)
		last = c.to
	}
	return append(out, r.in[last:]...)
}

func (r *redactor) cut(from, to int) {
	if r.dropping == 0 {
		r.cuts = append(r.cuts, span{from, to})
	}
}

// peek returns the next byte, or 0 at the end of the input (0 is never
// valid there, so callers fail on it naturally).
func (r *redactor) peek() byte {
	if r.pos < len(r.in) {
		return r.in[r.pos]
	}
	return 0
}

func (r *redactor) space() {
	i, in := r.pos, r.in
	for i < len(in) && (in[i] == ' ' || in[i] == '\n' || in[i] == '\t' || in[i] == '\r') {
		i++
	}
	r.pos = i
}

func (r *redactor) value() error {
	switch c := r.peek(); {
	case c == '{':
		return r.object()
	case c == '[':
		return r.array()
	case c == '"':
		return r.str()
	case c == '-' || '0' <= c && c <= '9':
		return r.number()
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case r.pos >= len(r.in):
		return r.fail("unexpected end of input")
	}
	return r.fail("unexpected character")
}

// object scans an object and cuts its credential properties. A cut
// property takes the comma before it with it, or, when no property before
// it is kept, the comma after it, so the result stays valid JSON and the
// layout around the kept properties is untouched.
func (r *redactor) object() error {
	if r.depth++; r.depth > maxDepth {
		return r.fail("nesting too deep")
	}
	r.pos++ // '{'
	r.space()
	if r.peek() == '}' {
		r.pos++
		r.depth--
		return nil
	}
	kept := false // a property before the current one stays
	comma := 0    // offset of the comma before the current property
	for {
		start, drop, err := r.property()
		if err != nil {
			return err
		}
		end := r.pos
		r.space()
		switch r.peek() {
		case '}':
			if drop {
				r.cutProperty(kept, comma, start, end, end)
			}
			r.pos++
			r.depth--
			return nil
		case ',':
			next := r.pos
			r.pos++
			r.space()
			if drop {
				r.cutProperty(kept, comma, start, end, r.pos)
			}
			kept = kept || !drop
			comma = next
		default:
			return r.fail("expected ',' or '}' after a property")
		}
	}
}

// cutProperty leaves out the property that runs from start to end. With a
// kept property before it, the comma before it goes too; without one, the
// text up to next (past the following comma and spaces, if any) goes.
func (r *redactor) cutProperty(kept bool, comma, start, end, next int) {
	if kept {
		r.cut(comma, end)
		return
	}
	r.cut(start, next)
}

// property scans `"name": value` and reports where it starts and whether it
// is a credential; on return pos is just past the value.
func (r *redactor) property() (start int, drop bool, err error) {
	start = r.pos
	if r.peek() != '"' {
		return 0, false, r.fail("expected a property name")
	}
	if err := r.str(); err != nil {
		return 0, false, err
	}
	drop = r.dropping == 0 && isCredential(r.in[start+1:r.pos-1])
	r.space()
	if r.peek() != ':' {
		return 0, false, r.fail("expected ':' after a property name")
	}
	r.pos++
	r.space()
	if drop {
		r.dropping++
		defer func() { r.dropping-- }()
	}
	return start, drop, r.value()
}

func (r *redactor) array() error {
	if r.depth++; r.depth > maxDepth {
		return r.fail("nesting too deep")
	}
	r.pos++ // '['
	r.space()
	if r.peek() == ']' {
		r.pos++
		r.depth--
		return nil
	}
	for {
		if err := r.value(); err != nil {
			return err
		}
		r.space()
		switch r.peek() {
		case ']':
			r.pos++
			r.depth--
			return nil
		case ',':
			r.pos++
			r.space()
		default:
			return r.fail("expected ',' or ']' in an array")
		}
	}
}

// str scans a string, checking escapes and rejecting raw control
// characters; like encoding/json it does not check UTF-8.
func (r *redactor) str() error {
	r.pos++ // opening quote
	for {
		// The plain run is the hot loop: keep the index in a local.
		i, in := r.pos, r.in
		for i < len(in) && in[i] != '"' && in[i] != '\\' && in[i] >= 0x20 {
			i++
		}
		r.pos = i
		switch {
		case i == len(in):
			return r.fail("unterminated string")
		case in[i] == '"':
			r.pos++
			return nil
		case in[i] < 0x20:
			return r.fail("control character in a string")
		}
		if err := r.escape(); err != nil {
			return err
		}
	}
}

func (r *redactor) escape() error {
	r.pos++ // backslash
	switch r.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		r.pos++
		return nil
	case 'u':
		r.pos++
		for i := 0; i < 4; i++ {
			if !isHex(r.peek()) {
				return r.fail("bad \\u escape")
			}
			r.pos++
		}
		return nil
	}
	return r.fail("bad escape")
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *redactor) number() error {
	if r.peek() == '-' {
		r.pos++
	}
	switch c := r.peek(); {
	case c == '0':
		r.pos++
	case '1' <= c && c <= '9':
		r.digits()
	default:
		return r.fail("bad number")
	}
	if r.peek() == '.' {
		r.pos++
		if r.digits() == 0 {
			return r.fail("bad number fraction")
		}
	}
	if c := r.peek(); c == 'e' || c == 'E' {
		r.pos++
		if c := r.peek(); c == '+' || c == '-' {
			r.pos++
		}
		if r.digits() == 0 {
			return r.fail("bad number exponent")
		}
	}
	return nil
}

func (r *redactor) digits() int {
	n := 0
	for r.pos < len(r.in) && '0' <= r.in[r.pos] && r.in[r.pos] <= '9' {
		r.pos++
		n++
	}
	return n
}

func (r *redactor) literal(word string) error {
	if len(r.in)-r.pos < len(word) || string(r.in[r.pos:r.pos+len(word)]) != word {
		return r.fail("bad literal")
	}
	r.pos += len(word)
	return nil
}
