// Package verify shows how a merchant's handler checks an opencals-sync
// delivery, with nothing but the standard library. It is the example the
// README quotes; its test checks it against signed deliveries the daemon's
// own signer produced (docs/examples/vectors.json).
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Opencals checks the "opencals" scheme: the hex HMAC-SHA256 of the raw
// body, keyed with the endpoint secret, in the Opencals-Signature header.
// Verify the bytes as received, before parsing them.
func Opencals(header http.Header, body []byte, secret string) bool {
	got, err := hex.DecodeString(header.Get("Opencals-Signature"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// StandardWebhooks checks the "standard-webhooks" scheme: base64
// HMAC-SHA256 of "id.timestamp.body", keyed with the base64-decoded part of
// a whsec_ secret, among the space-separated "v1,<sig>" values; timestamps
// further than tolerance from now are refused (replays).
func StandardWebhooks(header http.Header, body []byte, secret string, now time.Time,
	tolerance time.Duration) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	id, ts := header.Get("Webhook-Id"), header.Get("Webhook-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(header.Get("Webhook-Signature")) {
		b64, ok := strings.CutPrefix(sig, "v1,")
		got, err := base64.StdEncoding.DecodeString(b64)
		if ok && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}
