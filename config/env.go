package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ApplyEnv overrides keys from environment variables named after them:
// OPENCALS_SYNC_ followed by the key path in upper case, dots and list
// indices joined by underscores (OPENCALS_SYNC_LOG_LEVEL,
// OPENCALS_SYNC_STORES_0_API_KEY). A variable naming the index just past the
// end of a list appends an item, so a store can come from the environment
// alone. Lists of strings take comma-separated values; maps cannot be set
// this way.
func (c *Config) ApplyEnv(environ []string) error {
	env := make(map[string]string)
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix+"_") {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	if err := applyEnv(reflect.ValueOf(c).Elem(), EnvPrefix, "", env); err != nil {
		return err
	}
	c.fillItemDefaults()
	return nil
}

func applyEnv(v reflect.Value, envName, key string, env map[string]string) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := t.Field(i).Tag.Get("mapstructure")
			if tag == "" {
				continue
			}
			sub := joinKey(key, tag)
			name := envName + "_" + strings.ToUpper(tag)
			if err := applyEnv(v.Field(i), name, sub, env); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			return setLeaf(v, envName, key, env)
		}
		if hasPrefix(env, fmt.Sprintf("%s_%d_", envName, v.Len())) {
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		}
		for i := 0; i < v.Len(); i++ {
			name := fmt.Sprintf("%s_%d", envName, i)
			if err := applyEnv(v.Index(i), name, fmt.Sprintf("%s[%d]", key, i), env); err != nil {
				return err
			}
		}
		return nil
	default:
		return setLeaf(v, envName, key, env)
	}
}

func hasPrefix(env map[string]string, prefix string) bool {
	for k := range env {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

func joinKey(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

// setLeaf sets one scalar (or string list) from its variable, if present.
func setLeaf(v reflect.Value, envName, key string, env map[string]string) error {
	raw, ok := env[envName]
	if !ok {
		return nil
	}
	bad := func(err error) error {
		return fmt.Errorf("%s (from %s): %w", key, envName, err)
	}
	if v.Type() == reflect.TypeOf(time.Duration(0)) {
		d, err := time.ParseDuration(raw)
		if err != nil {
			return bad(err)
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return bad(err)
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return bad(err)
		}
		v.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad(err)
		}
		v.SetBool(b)
	case reflect.Slice:
		parts := strings.Split(raw, ",")
		s := reflect.MakeSlice(v.Type(), 0, len(parts))
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				s = reflect.Append(s, reflect.ValueOf(p).Convert(v.Type().Elem()))
			}
		}
		v.Set(s)
	default:
		return bad(fmt.Errorf("cannot be set from the environment"))
	}
	return nil
}
