// Package odata parses the OData v4 system query options that Microsoft Graph
// accepts on directory collections ($filter, $orderby, $select, $search,
// $top, $count) into a small AST, and checks a filter against a schema of
// the properties and operators a collection supports. It imports no store
// and produces no SQL: backends compile the AST themselves.
package odata
