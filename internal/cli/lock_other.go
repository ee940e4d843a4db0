//go:build !unix

package cli

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// tryLock creates path exclusively; a lock file older than a minute was
// left by a process that died and is taken over.
func tryLock(path string) (unlock func(), busy bool, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > time.Minute {
			_ = os.Remove(path)
		}
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	f.Close()
	return func() { _ = os.Remove(path) }, false, nil
}
