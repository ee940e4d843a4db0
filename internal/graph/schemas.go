package graph

import "github.com/vigil-idp/vigil/internal/odata"

// The per-collection query schemas: which properties can be selected,
// filtered (and with which operators), sorted and searched, by default and
// in advanced queries. They mirror the Graph v1.0 resource pages and
// "Advanced query capabilities on Microsoft Entra ID objects"
// (https://learn.microsoft.com/en-us/graph/aad-advanced-queries; reference
// §3.1 and §3.2):
//
//   - ne and not work only in advanced queries, on every property that
//     supports eq (so ne sits in AdvancedOps wherever eq is in Ops);
//   - in works wherever eq works (odata.AllowEq covers it);
//   - endsWith works only in advanced queries, and only on mail,
//     otherMails, userPrincipalName and proxyAddresses;
//   - startsWith on mobilePhone needs an advanced query;
//   - $orderby on createdDateTime needs an advanced query; displayName and
//     userPrincipalName sort by default.
//
// Every property a response renders is listed, so $select accepts exactly
// what can be returned; properties with no Ops can be selected only.

// text is a string property with Graph's usual directory operators:
// eq, in, ge, le, startsWith by default; ne in advanced queries.
var text = odata.Prop{
	Type: odata.TypeString, Ops: odata.AllowEq | odata.AllowGe | odata.AllowLe | odata.AllowStartsWith,
	AdvancedOps: odata.AllowNe, Nullable: true,
}

// key is an object id or appId: eq and in; ne in advanced queries.
var key = odata.Prop{Type: odata.TypeGUID, Ops: odata.AllowEq, AdvancedOps: odata.AllowNe}

// boolean is a Boolean: eq and in; ne in advanced queries.
var boolean = odata.Prop{Type: odata.TypeBool, Ops: odata.AllowEq, AdvancedOps: odata.AllowNe}

// created is createdDateTime: eq, in, ge, le; ne in advanced queries;
// $orderby only in advanced queries.
var created = odata.Prop{
	Type: odata.TypeDateTime, Ops: odata.AllowEq | odata.AllowGe | odata.AllowLe,
	AdvancedOps: odata.AllowNe, AdvancedOrderable: true,
}

// selectOnly is a property that can be selected but not queried.
func selectOnly(t odata.PropType) odata.Prop { return odata.Prop{Type: t} }

// tweak returns a copy of p changed by edit.
func tweak(p odata.Prop, edit func(*odata.Prop)) odata.Prop {
	edit(&p)
	return p
}

// usersSchema: https://learn.microsoft.com/en-us/graph/api/resources/user
var usersSchema = odata.Schema{Name: "microsoft.graph.user", Props: map[string]odata.Prop{
	"id":             key,
	"businessPhones": selectOnly(odata.TypeStringCollection),
	"displayName": tweak(text, func(p *odata.Prop) {
		p.Orderable, p.Searchable, p.Nullable = true, true, false
	}),
	"givenName": tweak(text, func(p *odata.Prop) { p.Searchable = true }),
	"jobTitle":  tweak(text, func(p *odata.Prop) { p.Searchable = true }),
	"mail": tweak(text, func(p *odata.Prop) {
		p.AdvancedOps |= odata.AllowEndsWith
		p.Searchable = true
	}),
	"mobilePhone": tweak(text, func(p *odata.Prop) {
		p.Ops &^= odata.AllowStartsWith
		p.AdvancedOps |= odata.AllowStartsWith
	}),
	"officeLocation":    text,
	"preferredLanguage": selectOnly(odata.TypeString),
	"surname":           tweak(text, func(p *odata.Prop) { p.Searchable = true }),
	"userPrincipalName": tweak(text, func(p *odata.Prop) {
		p.AdvancedOps |= odata.AllowEndsWith
		p.Orderable, p.Searchable, p.Nullable = true, true, false
	}),
	"accountEnabled":  boolean,
	"createdDateTime": created,
	"department": tweak(text, func(p *odata.Prop) {
		p.Ops &^= odata.AllowStartsWith
	}),
	"mailNickname":                    tweak(text, func(p *odata.Prop) { p.Searchable = true }),
	"signInSessionsValidFromDateTime": selectOnly(odata.TypeDateTime),
	"refreshTokensValidFromDateTime":  selectOnly(odata.TypeDateTime),
}}

// groupsSchema: https://learn.microsoft.com/en-us/graph/api/resources/group
var groupsSchema = odata.Schema{Name: "microsoft.graph.group", Props: map[string]odata.Prop{
	"id":              key,
	"createdDateTime": created,
	"description":     tweak(text, func(p *odata.Prop) { p.Searchable = true }),
	"displayName": tweak(text, func(p *odata.Prop) {
		p.Orderable, p.Searchable, p.Nullable = true, true, false
	}),
	"groupTypes": {
		Type: odata.TypeStringCollection, Ops: odata.AllowAny | odata.AllowEq, AdvancedOps: odata.AllowNe,
	},
	"isAssignableToRole": boolean,
	"mailEnabled":        boolean,
	"mailNickname":       tweak(text, func(p *odata.Prop) { p.Nullable = false }),
	"securityEnabled":    boolean,
}}

// applicationsSchema: https://learn.microsoft.com/en-us/graph/api/resources/application
var applicationsSchema = odata.Schema{Name: "microsoft.graph.application", Props: map[string]odata.Prop{
	"id":              key,
	"appId":           key,
	"createdDateTime": created,
	"displayName": tweak(text, func(p *odata.Prop) {
		p.Orderable, p.Searchable, p.Nullable = true, true, false
	}),
	"identifierUris": {
		Type: odata.TypeStringCollection, Ops: odata.AllowAny | odata.AllowEq, AdvancedOps: odata.AllowNe,
	},
	"isFallbackPublicClient": selectOnly(odata.TypeBool),
	"passwordCredentials":    selectOnly(odata.TypeComplex),
	"publicClient":           selectOnly(odata.TypeComplex),
	"signInAudience":         selectOnly(odata.TypeString),
	"spa":                    selectOnly(odata.TypeComplex),
	"web":                    selectOnly(odata.TypeComplex),
}}

// servicePrincipalsSchema: https://learn.microsoft.com/en-us/graph/api/resources/serviceprincipal
// (appRoles and oauth2PermissionScopes are collections of complex values;
// they are only selectable, so they are described as TypeComplex.)
var servicePrincipalsSchema = odata.Schema{Name: "microsoft.graph.servicePrincipal", Props: map[string]odata.Prop{
	"id":             key,
	"accountEnabled": selectOnly(odata.TypeBool),
	"appId":          key,
	"appRoles":       selectOnly(odata.TypeComplex),
	"displayName": tweak(text, func(p *odata.Prop) {
		p.Orderable, p.Searchable, p.Nullable = true, true, false
	}),
	"oauth2PermissionScopes": selectOnly(odata.TypeComplex),
	"servicePrincipalNames":  selectOnly(odata.TypeStringCollection),
	"servicePrincipalType":   selectOnly(odata.TypeString),
}}

// memberSchema is the directoryObject union in /members and
// /transitiveMembers lists: users, groups and service principals. Every
// property of those types (and of directory roles) can be selected; a
// property filters and searches as on its own collection, but only in
// advanced queries, as Graph documents for these lists
// (https://learn.microsoft.com/en-us/graph/api/group-list-members), and
// items of a type without the property never match. Lists are sorted by id
// only.
var memberSchema = advancedUnion("microsoft.graph.directoryObject",
	[]odata.Schema{usersSchema, groupsSchema, servicePrincipalsSchema},
	[]odata.Schema{directoryRoleSchema})

// memberOfSchema is the union in /memberOf and /transitiveMemberOf lists:
// groups and directory roles; filters and searches name group properties,
// in advanced queries only
// (https://learn.microsoft.com/en-us/graph/api/user-list-memberof).
var memberOfSchema = advancedUnion("microsoft.graph.directoryObject",
	[]odata.Schema{groupsSchema},
	[]odata.Schema{directoryRoleSchema})

// advancedUnion builds the schema of a list mixing types: the properties of
// the filter schemas with their operators allowed only in advanced queries
// and no sorting, plus select-only properties of the others.
func advancedUnion(name string, filter, selectOnlyFrom []odata.Schema) odata.Schema {
	s := odata.Schema{Name: name, Props: map[string]odata.Prop{}}
	for _, src := range filter {
		for n, p := range src.Props {
			q, ok := s.Props[n]
			if !ok {
				q = odata.Prop{Type: p.Type}
			}
			q.AdvancedOps |= p.Ops | p.AdvancedOps
			q.Nullable = q.Nullable || p.Nullable
			q.Searchable = q.Searchable || p.Searchable
			s.Props[n] = q
		}
	}
	for _, src := range selectOnlyFrom {
		for n, p := range src.Props {
			if _, ok := s.Props[n]; !ok {
				s.Props[n] = selectOnly(p.Type)
			}
		}
	}
	return s
}

// directoryRoleSchema: https://learn.microsoft.com/en-us/graph/api/resources/directoryrole
var directoryRoleSchema = odata.Schema{Name: "microsoft.graph.directoryRole", Props: map[string]odata.Prop{
	"id":              selectOnly(odata.TypeGUID),
	"deletedDateTime": selectOnly(odata.TypeDateTime),
	"description":     selectOnly(odata.TypeString),
	"displayName":     selectOnly(odata.TypeString),
	"roleTemplateId":  selectOnly(odata.TypeString),
}}
