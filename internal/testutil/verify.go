package testutil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
)

// The verifiers below follow the published descriptions of the two
// signature schemes with crypto/hmac only. They share no code with package
// event, so that tests of the signer cannot pass by repeating its mistakes.

// VerifyOpencals checks "hex HMAC-SHA256 of the raw body, keyed with the
// secret" in the named header.
func VerifyOpencals(h http.Header, header, secret string, body []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(h.Get(header)), []byte(want))
}

// VerifyStandardWebhooks checks Standard Webhooks: base64 HMAC-SHA256 of
// "<webhook-id>.<webhook-timestamp>.<body>" keyed with the base64 part of
// the whsec_ secret, among the space-separated "v1,<sig>" values.
func VerifyStandardWebhooks(h http.Header, secret string, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, got := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return true
		}
	}
	return false
}
