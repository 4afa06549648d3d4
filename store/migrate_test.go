package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// appliedMigrations lists schema_migrations as "version name applied_at".
func appliedMigrations(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.QueryContext(context.Background(),
		`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("listing migrations: %v", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var v, at int64
		var name string
		if err := rows.Scan(&v, &name, &at); err != nil {
			t.Fatalf("reading migration: %v", err)
		}
		got = append(got, strconv.FormatInt(v, 10)+" "+name+" "+strconv.FormatInt(at, 10))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("listing migrations: %v", err)
	}
	return got
}

func TestOpenFreshAndReopen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatalf("loadMigrations() = %v", err)
	}

	db := openAt(t, path, Options{})
	first := appliedMigrations(t, db)
	if len(first) != len(ms) {
		t.Fatalf("fresh database recorded %d migrations %v; want %d", len(first), first, len(ms))
	}
	wantFirst := "1 0001_init.sql " + strconv.FormatInt(t0.UnixMilli(), 10)
	if first[0] != wantFirst {
		t.Errorf("first migration = %q; want %q", first[0], wantFirst)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	again := openAt(t, path, Options{})
	if diff := cmp.Diff(first, appliedMigrations(t, again)); diff != "" {
		t.Errorf("reopening changed schema_migrations (-before +after):\n%s", diff)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	db := openAt(t, path, Options{})
	const future = 999
	_, err := db.w.Exec(`INSERT INTO schema_migrations VALUES (?, '0999_future.sql', 0)`, future)
	if err != nil {
		t.Fatalf("recording a future migration: %v", err)
	}
	// Out of WAL mode too, so that turning WAL on would show in the file.
	if _, err := db.w.Exec(`PRAGMA journal_mode = DELETE`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	got, err := Open(context.Background(), path, Options{})
	if err == nil {
		got.Close()
		t.Fatalf("Open(newer database) = nil error; want ErrSchemaTooNew")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open(newer database) = %v; want an error wrapping ErrSchemaTooNew", err)
	}
	ms, err2 := loadMigrations(migrationFS)
	if err2 != nil {
		t.Fatal(err2)
	}
	for _, v := range []string{"version 999", "up to " + strconv.Itoa(len(ms))} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("Open(newer database) = %q; want both versions named (missing %q)", err, v)
		}
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("Open(newer database) changed the file")
	}
}

func TestOpenFileModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		existing os.FileMode // 0: no file before Open
	}{
		{name: "new file"},
		{name: "existing world-readable file", existing: 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "state.db")
			if tc.existing != 0 {
				if err := os.WriteFile(path, nil, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			db := openAt(t, path, Options{})
			addCustomer(t, db, "s1", "c1") // a write, so that -wal and -shm exist
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("Stat(%s) = %v", filepath.Base(p), err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("mode of %s = %v; want -rw-------", filepath.Base(p), got)
				}
			}
		})
	}
}

func TestOpenPragmas(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	for _, tc := range []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{pool: "writer", db: db.w, pragma: "journal_mode", want: "wal"},
		{pool: "reader", db: db.r, pragma: "journal_mode", want: "wal"},
		{pool: "writer", db: db.w, pragma: "foreign_keys", want: "1"},
		{pool: "reader", db: db.r, pragma: "foreign_keys", want: "1"},
		{pool: "writer", db: db.w, pragma: "synchronous", want: "1"}, // NORMAL
		{pool: "writer", db: db.w, pragma: "busy_timeout", want: "5000"},
		{pool: "reader", db: db.r, pragma: "busy_timeout", want: "5000"},
		{pool: "writer", db: db.w, pragma: "query_only", want: "0"},
		{pool: "reader", db: db.r, pragma: "query_only", want: "1"},
	} {
		var got string
		if err := tc.db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s on %s = %v", tc.pragma, tc.pool, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s on %s = %q; want %q", tc.pragma, tc.pool, got, tc.want)
		}
	}
}

func TestLoadMigrationsChecksNumbering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		files   []string
		wantErr bool
	}{
		{name: "in order", files: []string{"0001_a.sql", "0002_b.sql"}},
		{name: "gap", files: []string{"0001_a.sql", "0003_c.sql"}, wantErr: true},
		{name: "starts at two", files: []string{"0002_b.sql"}, wantErr: true},
		{name: "no number", files: []string{"0001_a.sql", "init.sql"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			ms, err := loadMigrations(fsys)
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Fatalf("loadMigrations(%v) = %v, %v; want error %v", tc.files, ms, err, tc.wantErr)
			}
		})
	}
}

func TestDueCompletionsUsesPartialIndex(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	rows, err := db.r.Query("EXPLAIN QUERY PLAN "+sqlDueCompletions, "s1", 0, 10, 120000, 3600000)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN = %v", err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "appointments_due_for_completion") {
		t.Errorf("plan of due_completions.sql =\n%s; want it to use appointments_due_for_completion",
			plan.String())
	}
}
