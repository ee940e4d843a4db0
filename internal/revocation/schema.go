package revocation

import (
	"strings"

	"github.com/vigil-idp/vigil/internal/odata"
)

// UserFilterSchema is what a bulk revocation's filter may say about users:
// the filterable properties of Graph's user resource
// (https://learn.microsoft.com/en-us/graph/api/resources/user, reference
// entra-revocation.md §3.1) with the operators Graph allows on them in
// advanced queries (https://learn.microsoft.com/en-us/graph/aad-advanced-queries):
// a revocation filter is always evaluated as an advanced query, so ne,
// not and endsWith work where Graph's advanced mode allows them. The store
// evaluates it (internal/store/sqlstore filter semantics).
//
// internal/graph keeps its own users schema for GET /users, which adds the
// select-only properties and the default-versus-advanced split; the
// filterable properties and operators here match it.
var UserFilterSchema = odata.Schema{Name: "microsoft.graph.user", Props: map[string]odata.Prop{
	"id":                {Type: odata.TypeGUID, Ops: odata.AllowEq | odata.AllowNe},
	"accountEnabled":    {Type: odata.TypeBool, Ops: odata.AllowEq | odata.AllowNe},
	"createdDateTime":   {Type: odata.TypeDateTime, Ops: odata.AllowEq | odata.AllowNe | odata.AllowGe | odata.AllowLe},
	"userPrincipalName": {Type: odata.TypeString, Ops: textOps | odata.AllowEndsWith},
	"displayName":       {Type: odata.TypeString, Ops: textOps},
	"mail":              {Type: odata.TypeString, Ops: textOps | odata.AllowEndsWith, Nullable: true},
	"givenName":         {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"surname":           {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"jobTitle":          {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"mailNickname":      {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"officeLocation":    {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"mobilePhone":       {Type: odata.TypeString, Ops: textOps, Nullable: true},
	"department":        {Type: odata.TypeString, Ops: textOps &^ odata.AllowStartsWith, Nullable: true},
}}

// textOps are Graph's string operators on directory objects in advanced
// queries: eq, in, ne, ge, le, startsWith.
const textOps = odata.AllowEq | odata.AllowNe | odata.AllowGe | odata.AllowLe | odata.AllowStartsWith

// parseUserFilter parses and checks a bulk revocation filter.
func parseUserFilter(filter string) (odata.Expr, error) {
	e, err := odata.ParseFilter(filter)
	if err == nil {
		_, err = UserFilterSchema.CheckFilter(e)
	}
	if err != nil {
		// The parser's messages may end a sentence already.
		return nil, refuse(ErrInvalid, "Invalid filter: %s.", strings.TrimSuffix(err.Error(), "."))
	}
	return e, nil
}
