package config_test

import (
	"maps"
	"testing"

	"github.com/weber-framework/weber/config"
)

// TestConfigDevURLs: each dialect's dev-server variable lands under its
// folder name, the key `db revision`, `db check` and `db verify` look up.
func TestConfigDevURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"both", map[string]string{"WEBER_DEV_POSTGRES_URL": "postgres://p/dev", "WEBER_DEV_MYSQL_URL": " mysql://m/dev "},
			map[string]string{"postgres": "postgres://p/dev", "mysql": "mysql://m/dev"}},
		{"mysql only", map[string]string{"WEBER_DEV_MYSQL_URL": "mysql://m/dev", "WEBER_TEST_POSTGRES_URL": "postgres://t/x"},
			map[string]string{"mysql": "mysql://m/dev"}},
	} {
		got := config.FromEnv(func(k string) string { return tc.env[k] }).DevURLs
		if !maps.Equal(got, tc.want) {
			t.Errorf("%s: DevURLs = %v, want %v", tc.name, got, tc.want)
		}
	}
}
