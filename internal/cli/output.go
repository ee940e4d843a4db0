package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
)

// formats are the values of -o.
var formats = []string{"table", "json", "jsonl", "ids"}

// printer writes items in the chosen format. json writes one array (or one
// object when single), jsonl one compact object per line as items arrive,
// ids the id of each item (skipping items that carry an "error"), table an
// aligned table written at close — or, when vertical, one "name value"
// block per item. --select projects every format onto the named
// properties, in that order. It is safe for concurrent use.
type printer struct {
	w        io.Writer
	format   string
	columns  []string // table columns; for json/jsonl only when selected
	selected bool     // columns came from --select
	single   bool     // json: an object, not an array
	vertical bool     // table: name/value blocks
	empty    string   // said on errw when a table has no rows
	errw     io.Writer

	mu    sync.Mutex
	n     int
	rows  [][]string
	err   error
	blank bool
}

// printerOpts are a command's defaults for the printer.
type printerOpts struct {
	columns  []string // table columns when --select is absent
	single   bool
	vertical bool
	empty    string
}

func (s *state) newPrinter(o printerOpts) (*printer, error) {
	f := s.format()
	if !slices.Contains(formats, f) {
		return nil, usagef("-o %q: use one of %s", f, strings.Join(formats, ", "))
	}
	p := &printer{w: s.env.Stdout, errw: s.env.Stderr, format: f, columns: o.columns, single: o.single,
		vertical: o.vertical, empty: o.empty}
	if len(s.columns) > 0 {
		p.columns, p.selected = s.columns, true
	}
	return p, nil
}

// add prints one item: a json.RawMessage, or any value that marshals to a
// JSON object.
func (p *printer) add(item any) error {
	raw, ok := item.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(item)
		if err != nil {
			return fmt.Errorf("encode output: %w", err)
		}
		raw = b
	}
	keys, obj, err := decodeOrdered(raw)
	if err != nil {
		return failf("the server sent an item that is not a JSON object: %v", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.err = p.write(raw, keys, obj)
	return p.err
}

func (p *printer) write(raw json.RawMessage, keys []string, obj map[string]any) error {
	if p.selected {
		raw = project(p.columns, obj)
		keys = p.columns
	}
	switch p.format {
	case "jsonl":
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := p.w.Write(b.Bytes())
		p.n++
		return err
	case "json":
		var b bytes.Buffer
		switch {
		case p.single:
		case p.n == 0:
			b.WriteString("[\n  ")
		default:
			b.WriteString(",\n  ")
		}
		prefix := "  "
		if p.single {
			prefix = ""
		}
		if err := json.Indent(&b, raw, prefix, "  "); err != nil {
			return err
		}
		if p.single {
			b.WriteByte('\n')
		}
		_, err := p.w.Write(b.Bytes())
		p.n++
		return err
	case "ids":
		if _, failed := obj["error"]; failed {
			return nil
		}
		id, _ := obj["id"].(string)
		if id == "" {
			return nil
		}
		p.n++
		_, err := fmt.Fprintln(p.w, id)
		return err
	}
	if p.vertical {
		cols := p.columns
		if len(cols) == 0 {
			cols = slices.DeleteFunc(slices.Clone(keys), func(k string) bool {
				return k == "@odata.context" || k == "@odata.nextLink"
			})
		}
		var b bytes.Buffer
		if p.blank {
			b.WriteByte('\n')
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		for _, c := range cols {
			fmt.Fprintf(tw, "%s\t%s\n", c, cell(obj[c]))
		}
		tw.Flush()
		p.blank = true
		p.n++
		_, err := p.w.Write(b.Bytes())
		return err
	}
	cols := p.columns
	if len(cols) == 0 {
		p.columns, cols = keys, keys
	}
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = cell(obj[c])
	}
	p.rows = append(p.rows, row)
	p.n++
	return nil
}

// close finishes the output: the table, or the end of the JSON array.
func (p *printer) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	switch p.format {
	case "json":
		switch {
		case p.single && p.n == 0:
			return nil
		case p.single:
			return nil
		case p.n == 0:
			_, err := io.WriteString(p.w, "[]\n")
			return err
		}
		_, err := io.WriteString(p.w, "\n]\n")
		return err
	case "table":
		if p.n == 0 {
			if p.empty != "" {
				fmt.Fprintln(p.errw, p.empty)
			}
			return nil
		}
		if p.vertical {
			return nil
		}
		tw := tabwriter.NewWriter(p.w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(p.columns, "\t"))
		for _, r := range p.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		return tw.Flush()
	}
	return nil
}

// count is the number of items printed.
func (p *printer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// cell renders a JSON value in a table cell.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return ' '
			}
			return r
		}, v)
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = cell(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// project keeps the named properties of obj, in that order (absent ones as
// null).
func project(cols []string, obj map[string]any) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c)
		v, _ := json.Marshal(obj[c])
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// decodeOrdered decodes a JSON object, returning its keys in order.
// Numbers stay json.Number so ids and counts print exactly.
func decodeOrdered(raw []byte) ([]string, map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("not an object")
	}
	var keys []string
	obj := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := obj[k]; !dup {
			keys = append(keys, k)
		}
		obj[k] = v
	}
	return keys, obj, nil
}
