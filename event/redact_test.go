package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "nothing to remove", in: `{"a": 1.50, "b": "\u00e9"}`,
			want: `{"a": 1.50, "b": "\u00e9"}`},
		{name: "scalar", in: ` 12e3 `, want: ` 12e3 `},
		{name: "only property", in: `{"password":"x"}`, want: `{}`},
		{name: "first property", in: `{"password":"x","b":2}`, want: `{"b":2}`},
		{name: "middle property", in: `{"a":1,"token":"x","b":2}`, want: `{"a":1,"b":2}`},
		{name: "last property", in: `{"a":1,"secret":"x"}`, want: `{"a":1}`},
		{name: "two in a row first", in: `{"password":1,"apiKey":2,"b":3}`, want: `{"b":3}`},
		{name: "two in a row last", in: `{"a":1,"api_key":2,"token":3}`, want: `{"a":1}`},
		{name: "all of several", in: `{"token":1, "secret":2}`, want: `{}`},
		{
			name: "indented",
			in:   "{\n  \"a\": 1,\n  \"refreshToken\": \"x\",\n  \"b\": [1, 2]\n}",
			want: "{\n  \"a\": 1,\n  \"b\": [1, 2]\n}",
		},
		{
			name: "indented first",
			in:   "{\n  \"accessToken\": \"x\",\n  \"b\": 2\n}",
			want: "{\n  \"b\": 2\n}",
		},
		{
			name: "nested in arrays and objects",
			in:   `[{"customer":{"id":"c","password":"p"}},{"staff":[{"refreshToken":"r"}]}]`,
			want: `[{"customer":{"id":"c"}},{"staff":[{}]}]`,
		},
		{
			name: "credential holding an object",
			in:   `{"secret":{"token":"t","x":[1,{"password":2}]},"k":true}`,
			want: `{"k":true}`,
		},
		{name: "any case", in: `{"PassWord":1,"APIKEY":2,"ok":3}`, want: `{"ok":3}`},
		{name: "escaped name", in: `{"pass\u0077ord":1,"ok":2}`, want: `{"ok":2}`},
		{name: "kelvin sign", in: `{"api\u212aey":1,"apiKey":2,"ok":3}`, want: `{"ok":3}`},
		{name: "whole name only", in: `{"isPasswordSet":true,"tokenName":"s"}`,
			want: `{"isPasswordSet":true,"tokenName":"s"}`},
		{name: "value named like a key", in: `{"kind":"password"}`, want: `{"kind":"password"}`},
		{name: "duplicate names", in: `{"token":1,"a":2,"token":3}`, want: `{"a":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Redact([]byte(tt.in))
			if err != nil {
				t.Fatalf("Redact(%q) error = %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Redact(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactRejectsInvalidJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{name: "empty", in: ``},
		{name: "spaces", in: `  `},
		{name: "trailing comma", in: `{"a":1,}`},
		{name: "trailing comma in array", in: `[1,]`},
		{name: "unterminated string", in: `{"a":"x`},
		{name: "unterminated object", in: `{"password":"x"`},
		{name: "missing colon", in: `{"a" 1}`},
		{name: "bare name", in: `{a:1}`},
		{name: "leading zero", in: `01`},
		{name: "bare fraction", in: `1.`},
		{name: "bare exponent", in: `1e+`},
		{name: "bad literal", in: `nul`},
		{name: "bad escape", in: `"\x"`},
		{name: "short unicode escape", in: `"\u12"`},
		{name: "control character", in: "\"a\tb\""},
		{name: "two values", in: `{} {}`},
		{name: "too deep", in: strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Redact([]byte(tt.in))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("Redact(%.40q) = %q, %v; want an error wrapping ErrInvalidJSON",
					tt.in, got, err)
			}
			if json.Valid([]byte(tt.in)) {
				t.Errorf("json.Valid(%.40q) = true; the case is not invalid", tt.in)
			}
		})
	}
}

func TestRedactAcceptsDeepestNesting(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := Redact([]byte(in)); err != nil {
		t.Errorf("Redact(%d nested arrays) error = %v; want nil", maxDepth, err)
	}
}

func TestRedactErrorQuotesNoInput(t *testing.T) {
	t.Parallel()
	in := `{"password":"hunter2-secret-value`
	_, err := Redact([]byte(in))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Redact(%q) error = %v; want an error without the value", in, err)
	}
}

// TestRedactFixtures checks the real API answers: the credential lines go,
// every other byte stays.
func TestRedactFixtures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		// wantGone lists the properties whose lines must disappear.
		wantGone []string
	}{
		{file: "appointments-page.json", wantGone: []string{`"password":`, `"refreshToken":`}},
		{file: "orders-page.json", wantGone: []string{`"password":`, `"refreshToken":`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			in := readTestdata(t, tt.file)
			got, err := Redact(in)
			if err != nil {
				t.Fatalf("Redact(%s) error = %v", tt.file, err)
			}
			want := dropLines(in, tt.wantGone)
			if bytes.Equal(want, in) {
				t.Fatalf("%s holds none of %q; the case tests nothing", tt.file, tt.wantGone)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("Redact(%s) mismatch (-want +got):\n%s", tt.file, diff)
			}
			if bytes.Contains(got, []byte("LEAKS")) {
				t.Errorf("Redact(%s) still holds a leaked credential", tt.file)
			}
		})
	}
}

func TestRedactTokenPair(t *testing.T) {
	t.Parallel()
	in := readTestdata(t, "tokens.json")
	got, err := Redact(in)
	if err != nil {
		t.Fatalf("Redact(tokens.json) error = %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil || len(m) != 0 {
		t.Errorf("Redact(tokens.json) = %q (%v); want an empty object", got, err)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// dropLines removes the lines holding any of marks. In the indented
// fixtures, where no credential is the last property of its object, that is
// exactly what removing those properties must amount to.
func dropLines(in []byte, marks []string) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(in, []byte("\n")) {
		if !containsAny(line, marks) {
			out = append(out, line...)
		}
	}
	return out
}

func containsAny(line []byte, marks []string) bool {
	for _, m := range marks {
		if bytes.Contains(line, []byte(m)) {
			return true
		}
	}
	return false
}

// FuzzRedact checks Redact against encoding/json on arbitrary input: it
// fails exactly on invalid JSON, its output is valid, holds no credential
// name at any depth, means the same as the input minus those properties,
// and is the input itself when there was nothing to remove.
func FuzzRedact(f *testing.F) {
	for _, name := range []string{"appointments-page.json", "orders-page.json", "tokens.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, s := range []string{
		`{"password":1}`, `{"a":{"token":[1,{"secret":2}]},"b":3}`, `[{"ApiKey":""}, -0.5e+3]`,
		`{"pass\u0077ord":null , "x":"\ud800"}`, `"\u212a"`, `{"a":1,}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := Redact(in)
		if valid := json.Valid(in); (err == nil) != valid {
			t.Fatalf("Redact(%q) error = %v; json.Valid = %v", in, err, valid)
		}
		if err != nil {
			return
		}
		if !json.Valid(got) {
			t.Fatalf("Redact(%q) = %q; not valid JSON", in, got)
		}
		gotValue, wantValue := decodeAny(t, got), decodeAny(t, in)
		if n := stripCredentials(gotValue); n != 0 {
			t.Fatalf("Redact(%q) = %q; still holds %d credential(s)", in, got, n)
		}
		removed := stripCredentials(wantValue)
		if diff := cmp.Diff(wantValue, gotValue); diff != "" {
			t.Fatalf("Redact(%q) = %q; meaning changed (-want +got):\n%s", in, got, diff)
		}
		if removed == 0 && !bytes.Equal(got, in) {
			t.Fatalf("Redact(%q) = %q; want the input unchanged", in, got)
		}
	})
}

// decodeAny decodes numbers as json.Number: valid JSON such as 1e700 does
// not fit a float64.
func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", b, err)
	}
	return v
}

// stripCredentials deletes credential properties from a decoded value, by
// the list documented on Redact, and counts them. It is written apart from
// the scanner's own matching on purpose.
func stripCredentials(v any) int {
	names := map[string]bool{
		"password": true, "passwordhash": true, "token": true, "accesstoken": true,
		"refreshtoken": true, "idtoken": true, "secret": true, "clientsecret": true,
		"apikey": true, "api_key": true, "privatekey": true,
	}
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if names[strings.ToLower(k)] {
				delete(v, k)
				n++
				continue
			}
			n += stripCredentials(child)
		}
	case []any:
		for _, child := range v {
			n += stripCredentials(child)
		}
	}
	return n
}

// BenchmarkRedact compares the scanner with the obvious alternative,
// decoding into any and encoding again, on real items of 5 and 7 KB. Run
// both in one go and compare ns/op.
func BenchmarkRedact(b *testing.B) {
	for _, file := range []string{"appointments-page.json", "orders-page.json"} {
		item := firstItem(b, file)
		name := strings.TrimSuffix(file, "-page.json")
		b.Run(name+"/scanner", func(b *testing.B) {
			b.SetBytes(int64(len(item)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Redact(item); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/unmarshal-marshal", func(b *testing.B) {
			b.SetBytes(int64(len(item)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := redactByDecoding(item); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// redactByDecoding is the baseline: correct in meaning, but it reorders
// properties and reformats numbers, and it is slow.
func redactByDecoding(raw []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	stripCredentials(v)
	return json.Marshal(v)
}

func firstItem(b *testing.B, file string) []byte {
	b.Helper()
	var page struct{ Data []json.RawMessage }
	if err := json.Unmarshal(readTestdata(b, file), &page); err != nil || len(page.Data) == 0 {
		b.Fatalf("reading the first item of %s: %v", file, err)
	}
	return page.Data[0]
}
