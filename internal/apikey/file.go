package apikey

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ReadOrCreate returns the one line kept in the file at path or, when there
// is no such file, makes a value with gen and keeps it there, readable by
// its owner alone (0600), for the next start; created says which. It
// writes a temporary file and links it into place, so that a crash never
// leaves half a value and two programs starting at once agree on one. A
// kept file that others could read is narrowed to 0600.
func ReadOrCreate(path string, gen func() (string, error)) (value string, created bool, err error) {
	value, err = readLine(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return value, false, err
	}
	if value, err = gen(); err != nil {
		return "", false, fmt.Errorf("make %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp") // 0600
	if err != nil {
		return "", false, fmt.Errorf("make %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(value + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), path)
	}
	if errors.Is(err, fs.ErrExist) {
		value, err = readLine(path) // another start made it first
		return value, false, err
	}
	if err != nil {
		return "", false, fmt.Errorf("make %s: %w", path, err)
	}
	return value, true, nil
}

func readLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
	}
	v := strings.TrimSpace(string(b))
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("%s must hold one line; delete it to make a new one", path)
	}
	return v, nil
}
