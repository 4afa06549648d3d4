package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// refreshTokenTTL is how long a refresh token is accepted when unused.
const refreshTokenTTL = 30 * 24 * time.Hour

// errUnauthorized means a bearer token is unknown, revoked, expired or of
// the wrong kind. The API answers 401 without saying which.
var errUnauthorized = errors.New("unauthorized")

// session is one named sign-in of a customer (tokenName). It holds the
// pair in use and, after a refresh, the pair handed out but not used yet:
// both stay valid until the new one is first used, so a client that lost
// the new pair can refresh again with the old one.
type session struct {
	name     string
	customer *customer
	active   *tokenPair
	next     *tokenPair
}

type tokenPair struct {
	access, refresh       string
	accessExp, refreshExp time.Time
}

type tokenInfo struct {
	sess    *session
	pair    *tokenPair
	refresh bool
}

// signIn starts (or restarts) the customer's session called name; a
// restart revokes that session's earlier tokens and no other session's.
func (s *Sandbox) signIn(c *customer, name string, now time.Time) *tokenPair {
	if old, ok := c.sessions[name]; ok {
		s.revokeSession(old)
	}
	sess := &session{name: name, customer: c}
	sess.active = s.issue(sess, now)
	c.sessions[name] = sess
	return sess.active
}

// authenticate checks an access token and returns its customer.
func (s *Sandbox) authenticate(token string, now time.Time) (*customer, error) {
	info, ok := s.tokens[token]
	if !ok || info.refresh || !now.Before(info.pair.accessExp) {
		return nil, errUnauthorized
	}
	s.promote(info)
	return info.sess.customer, nil
}

// refreshSession answers a refresh token with a new pair. Using the pair
// handed out last promotes it and revokes its predecessor; refreshing with
// the active pair again replaces the unused one.
func (s *Sandbox) refreshSession(token string, now time.Time) (*tokenPair, error) {
	info, ok := s.tokens[token]
	if !ok || !info.refresh || !now.Before(info.pair.refreshExp) {
		return nil, errUnauthorized
	}
	s.promote(info)
	sess := info.sess
	if sess.next != nil {
		s.revokePair(sess.next)
	}
	sess.next = s.issue(sess, now)
	return sess.next, nil
}

// promote makes the pending pair active on its first use.
func (s *Sandbox) promote(info *tokenInfo) {
	sess := info.sess
	if info.pair != sess.next {
		return
	}
	s.revokePair(sess.active)
	sess.active, sess.next = sess.next, nil
}

func (s *Sandbox) revokeAll(c *customer) {
	for name, sess := range c.sessions {
		s.revokeSession(sess)
		delete(c.sessions, name)
	}
}

func (s *Sandbox) revokeSession(sess *session) {
	s.revokePair(sess.active)
	if sess.next != nil {
		s.revokePair(sess.next)
	}
}

func (s *Sandbox) revokePair(p *tokenPair) {
	delete(s.tokens, p.access)
	delete(s.tokens, p.refresh)
}

func (s *Sandbox) issue(sess *session, now time.Time) *tokenPair {
	p := &tokenPair{accessExp: now.Add(s.cfg.AccessTokenTTL), refreshExp: now.Add(refreshTokenTTL)}
	p.access = s.jwt(sess.customer.id, "access", now, p.accessExp)
	p.refresh = s.jwt(sess.customer.id, "refresh", now, p.refreshExp)
	s.tokens[p.access] = &tokenInfo{sess: sess, pair: p}
	s.tokens[p.refresh] = &tokenInfo{sess: sess, pair: p, refresh: true}
	return p
}

// jwt builds a signed HS256 token whose payload carries the customer id
// in sub, so consumers can read it; the sandbox itself looks tokens up.
func (s *Sandbox) jwt(sub, typ string, iat, exp time.Time) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(struct {
		Sub     string `json:"sub"`
		Typ     string `json:"typ"`
		StoreID string `json:"storeId"`
		Iat     int64  `json:"iat"`
		Exp     int64  `json:"exp"`
		Jti     string `json:"jti"`
	}{sub, typ, s.storeID, iat.Unix(), exp.Unix(), s.token(32)})
	unsigned := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.jwtKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}
