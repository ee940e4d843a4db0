package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/oauth2"
)

// cacheVersion is the format of credentials.json; a file of another
// version is ignored (and replaced at the next login).
const cacheVersion = 1

// Login kinds.
const (
	loginUser = "user" // device code: delegated tokens with refresh tokens
	loginApp  = "app"  // client credentials: the secret is kept to get tokens
)

// cacheFile is credentials.json: one login per server URL.
type cacheFile struct {
	Version int               `json:"version"`
	Logins  map[string]*login `json:"logins"`
}

// login is what `vigil login` saved for one server.
type login struct {
	Kind          string `json:"kind"`
	ClientID      string `json:"clientId"`
	ClientSecret  string `json:"clientSecret,omitempty"` // app logins only
	TokenEndpoint string `json:"tokenEndpoint"`
	// RevocationEndpoint, when the server has one, is where logout revokes
	// refresh tokens (RFC 7009).
	RevocationEndpoint string `json:"revocationEndpoint,omitempty"`
	// User is the signed-in user's UPN (ID token preferred_username) and
	// ObjectID their oid; empty for app logins.
	User     string    `json:"user,omitempty"`
	ObjectID string    `json:"oid,omitempty"`
	LoggedIn time.Time `json:"loggedIn"`
	// Tokens holds the tokens per resource audience.
	Tokens map[string]*oauth2.Token `json:"tokens"`
}

// tokenCache is the token cache in dir (0700): credentials.json (0600)
// and credentials.lock, taken while the file is read, refreshed and
// written, so concurrent vigil processes (the two ends of a pipeline)
// refresh a token once and never present a rotated refresh token twice,
// which the server would treat as reuse and answer by revoking the login.
type tokenCache struct {
	dir string
}

func (c *tokenCache) path() string { return filepath.Join(c.dir, "credentials.json") }

// load reads the cache; a missing file is an empty cache. A file others
// may read is refused: it holds refresh tokens and client secrets.
func (c *tokenCache) load() (*cacheFile, error) {
	empty := &cacheFile{Version: cacheVersion, Logins: map[string]*login{}}
	fi, err := os.Stat(c.path())
	if errors.Is(err, fs.ErrNotExist) {
		return empty, nil
	}
	if err != nil {
		return nil, failf("token cache: %v", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, authf("token cache %s is readable by others (mode %04o): run `chmod 600 %s` and sign in again with `vigil login`",
			c.path(), fi.Mode().Perm(), c.path())
	}
	raw, err := os.ReadFile(c.path())
	if err != nil {
		return nil, failf("token cache: %v", err)
	}
	var f cacheFile
	if err := json.Unmarshal(raw, &f); err != nil || f.Version != cacheVersion {
		return empty, nil
	}
	if f.Logins == nil {
		f.Logins = map[string]*login{}
	}
	return &f, nil
}

// save writes the cache atomically (a temporary file renamed over it),
// with mode 0600 in a directory of mode 0700.
func (c *tokenCache) save(f *cacheFile) error {
	if err := c.ensureDir(); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, ".credentials-*.json")
	if err != nil {
		return failf("token cache: %v", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return failf("token cache: %v", err)
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return failf("token cache: %v", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return failf("token cache: %v", err)
	}
	if err := tmp.Close(); err != nil {
		return failf("token cache: %v", err)
	}
	if err := os.Rename(tmp.Name(), c.path()); err != nil {
		return failf("token cache: %v", err)
	}
	return nil
}

func (c *tokenCache) ensureDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return failf("token cache directory: %v", err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(c.dir, 0o700); err != nil {
			return failf("token cache directory: %v", err)
		}
	}
	return nil
}

// update runs fn on the cache under the lock and saves the result unless
// fn fails.
func (c *tokenCache) update(fn func(f *cacheFile) error) error {
	unlock, err := c.lock()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := c.load()
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	return c.save(f)
}

// lock takes credentials.lock, waiting up to 30 s for another vigil
// process to release it.
func (c *tokenCache) lock() (unlock func(), err error) {
	if err := c.ensureDir(); err != nil {
		return nil, err
	}
	path := filepath.Join(c.dir, "credentials.lock")
	deadline := time.Now().Add(30 * time.Second)
	for {
		unlock, busy, err := tryLock(path)
		if err != nil {
			return nil, failf("token cache lock %s: %v", path, err)
		}
		if !busy {
			return unlock, nil
		}
		if time.Now().After(deadline) {
			return nil, failf("token cache lock %s is held by another vigil process; wait for it or remove the file", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
