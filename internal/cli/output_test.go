package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestPrinter(t *testing.T) {
	items := []any{
		json.RawMessage(`{"id":"1","displayName":"Ada\tL","userPrincipalName":"ada@x","accountEnabled":true,"businessPhones":["1","2"]}`),
		json.RawMessage(`{"id":"2","displayName":"Bob","userPrincipalName":"bob@x","accountEnabled":false,"businessPhones":[]}`),
		revokeResult{UserPrincipalName: "nobody@x", Error: "user not found"},
	}
	tests := []struct {
		name    string
		format  string
		columns []string // --select
		opts    printerOpts
		want    string
	}{
		{name: "jsonl passes items through compactly", format: "jsonl", want: `{"id":"1","displayName":"Ada\tL","userPrincipalName":"ada@x","accountEnabled":true,"businessPhones":["1","2"]}
{"id":"2","displayName":"Bob","userPrincipalName":"bob@x","accountEnabled":false,"businessPhones":[]}
{"userPrincipalName":"nobody@x","revoked":false,"error":"user not found"}
`},
		{name: "select projects in order", format: "jsonl", columns: []string{"userPrincipalName", "id"}, want: `{"userPrincipalName":"ada@x","id":"1"}
{"userPrincipalName":"bob@x","id":"2"}
{"userPrincipalName":"nobody@x","id":null}
`},
		{name: "ids skip failures", format: "ids", want: "1\n2\n"},
		{name: "table with default columns", format: "table", opts: printerOpts{columns: []string{"id", "userPrincipalName", "accountEnabled", "businessPhones", "error"}},
			want: `id  userPrincipalName  accountEnabled  businessPhones  error
1   ada@x              true            1,2             
2   bob@x              false                           
    nobody@x                                           user not found
`},
		{name: "table columns from the first item", format: "table", columns: nil, opts: printerOpts{},
			want: `id  displayName  userPrincipalName  accountEnabled  businessPhones
1   Ada L        ada@x              true            1,2
2   Bob          bob@x              false           
                 nobody@x                           
`},
		{name: "json array", format: "json", columns: []string{"id"}, want: `[
  {
    "id": "1"
  },
  {
    "id": "2"
  },
  {
    "id": null
  }
]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errw bytes.Buffer
			s := &state{env: &Env{Stdout: &out, Stderr: &errw}, output: tt.format, columns: tt.columns}
			p, err := s.newPrinter(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if err := p.add(it); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}

func TestPrinterSingleAndEmpty(t *testing.T) {
	var out, errw bytes.Buffer
	s := &state{env: &Env{Stdout: &out, Stderr: &errw}, output: "json"}
	p, _ := s.newPrinter(printerOpts{single: true})
	p.add(json.RawMessage(`{"id":"1","n":2}`))
	p.close()
	if out.String() != "{\n  \"id\": \"1\",\n  \"n\": 2\n}\n" {
		t.Errorf("single json = %q", out.String())
	}

	out.Reset()
	p, _ = s.newPrinter(printerOpts{})
	p.close()
	if out.String() != "[]\n" {
		t.Errorf("empty json list = %q", out.String())
	}

	out.Reset()
	s.output = "table"
	p, _ = s.newPrinter(printerOpts{empty: "No users found."})
	p.close()
	if out.Len() != 0 || errw.String() != "No users found.\n" {
		t.Errorf("empty table: stdout %q stderr %q", out.String(), errw.String())
	}

	out.Reset()
	p, _ = s.newPrinter(printerOpts{single: true, vertical: true})
	p.add(json.RawMessage(`{"@odata.context":"x","id":"1","roles":["a","b"],"n":{"k":1}}`))
	p.close()
	if want := "id     1\nroles  a,b\nn      {\"k\":1}\n"; out.String() != want {
		t.Errorf("vertical = %q, want %q", out.String(), want)
	}

	s.output = "yaml"
	if _, err := s.newPrinter(printerOpts{}); KindOf(err) != KindUsage || !strings.Contains(err.Error(), "table, json, jsonl, ids") {
		t.Errorf("-o yaml: %v", err)
	}
}

func TestDefaultFormat(t *testing.T) {
	if f := (&state{env: &Env{StdoutTTY: true}}).format(); f != "table" {
		t.Errorf("terminal: %s", f)
	}
	if f := (&state{env: &Env{}}).format(); f != "jsonl" {
		t.Errorf("pipe: %s", f)
	}
}
