package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-idp/vigil/internal/odata"
)

// target is a user named by the caller: by object id, by user principal
// name, or both (a JSON line from `vigil users list -o jsonl`).
type target struct {
	ID  string `json:"id,omitempty"`
	UPN string `json:"userPrincipalName,omitempty"`
	// Line is the input line (1-based), 0 for a command-line argument.
	Line int `json:"-"`
}

// key identifies the target for de-duplication: its id, else its UPN
// (case-insensitively, as Entra compares UPNs).
func (t target) key() string {
	if t.ID != "" {
		return "id:" + strings.ToLower(t.ID)
	}
	return "upn:" + strings.ToLower(t.UPN)
}

// name is how the target is shown: its UPN, else its id.
func (t target) name() string {
	if t.UPN != "" {
		return t.UPN
	}
	return t.ID
}

// maxTargetLine bounds one input line (a full user object in JSON is far
// smaller).
const maxTargetLine = 1 << 20

// errTargetLine is the cause of every malformed line.
var errTargetLine = errors.New("not a user id, a user principal name or a JSON object with id or userPrincipalName")

// readTargets reads targets, one per line: a user object id (GUID), a user
// principal name, or a JSON object with "id" and/or "userPrincipalName"
// (the output of `users list -o jsonl`). Blank lines and lines starting
// with '#' are skipped; a UTF-8 byte order mark and CR line ends are
// accepted; a repeated target is kept once. A malformed line is a usage
// error naming the line: nothing is done with a list that has one.
func readTargets(r io.Reader) ([]target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxTargetLine)
	var out []target
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
		}
		t, ok, err := parseTarget(string(line))
		if err != nil {
			return nil, usagef("stdin line %d: %v", n, err)
		}
		if !ok {
			continue
		}
		t.Line = n
		if k := t.key(); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usagef("stdin: a line is longer than %d bytes; give one user per line", maxTargetLine)
		}
		return nil, failf("read stdin: %v", err)
	}
	return out, nil
}

// argTargets reads targets given as command-line arguments.
func argTargets(args []string) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	for _, a := range args {
		t, ok, err := parseTarget(a)
		if err != nil || !ok {
			return nil, usagef("%q is not a user id or user principal name", a)
		}
		if k := t.key(); !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// parseTarget parses one line. ok is false for a blank or comment line.
func parseTarget(line string) (t target, ok bool, err error) {
	if !utf8.ValidString(line) {
		return target{}, false, errors.New("not valid UTF-8")
	}
	s := strings.TrimSpace(line)
	switch {
	case s == "" || strings.HasPrefix(s, "#"):
		return target{}, false, nil
	case strings.HasPrefix(s, "["):
		return target{}, false, errors.New("a JSON array: give one object per line (use -o jsonl or -o ids upstream)")
	case strings.HasPrefix(s, "{"):
		return parseTargetJSON(s)
	}
	switch {
	case odata.IsGUID(s):
		return target{ID: strings.ToLower(s)}, true, nil
	case isUPN(s):
		return target{UPN: s}, true, nil
	}
	return target{}, false, fmt.Errorf("%q: %w", clip(s, 60), errTargetLine)
}

func parseTargetJSON(s string) (target, bool, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return target{}, false, fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return target{}, false, errors.New("more than one JSON value on the line")
	}
	var t target
	for field, dst := range map[string]*string{"id": &t.ID, "userPrincipalName": &t.UPN} {
		raw, ok := obj[field]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return target{}, false, fmt.Errorf("%q is not a string", field)
		}
		*dst = strings.TrimSpace(*dst)
	}
	switch {
	case t.ID == "" && t.UPN == "":
		return target{}, false, errors.New("a JSON object without \"id\" or \"userPrincipalName\"")
	case t.ID != "" && !odata.IsGUID(t.ID):
		return target{}, false, fmt.Errorf("\"id\" %q is not a user object id", clip(t.ID, 60))
	case t.UPN != "" && !isUPN(t.UPN):
		return target{}, false, fmt.Errorf("\"userPrincipalName\" %q is not a user principal name", clip(t.UPN, 60))
	}
	t.ID = strings.ToLower(t.ID)
	return t, true, nil
}

// isUPN reports whether s looks like a user principal name: local@domain,
// both parts non-empty, no spaces, double quotes, slashes, '?', '%' or
// control characters, at most 113 characters (Entra's limit), not starting
// with '#', '{' or '[' (a comment or JSON line). '#' is allowed inside:
// guest UPNs contain #EXT#.
func isUPN(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 113 || strings.ContainsRune("#{[", rune(s[0])) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '/' || r == '\\' || r == '?' || r == '%' {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
