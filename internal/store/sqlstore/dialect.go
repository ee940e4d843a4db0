package sqlstore

import (
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds everything that differs between SQLite and PostgreSQL. The
// SQL text itself is shared: both accept TRUE/FALSE, row values, RETURNING,
// ON CONFLICT, recursive CTEs and LIKE … ESCAPE, and the schemas make text
// comparison bytewise on both (BINARY in SQLite, COLLATE "C" in
// PostgreSQL). Fixed statements with a few parameters are written with $1,
// $2, … once for both: modernc.org/sqlite binds SQLite's "$NNN" parameters
// by ordinal. What remains is listed here; nothing rewrites SQL after it
// is written.
type dialect struct {
	name  string
	goose goose.Dialect

	// placeholder is the n-th parameter in built statements: SQLite's own
	// numbered form ?NNN (its "$NNN" is a named parameter, found by a
	// linear search at parse time), PostgreSQL's $NNN.
	placeholder func(n int) string

	// forUpdate is appended to the SELECT of a read-modify-write so that
	// concurrent updaters queue on the row lock (PostgreSQL). SQLite needs
	// none: its write transactions start with BEGIN IMMEDIATE on the single
	// write connection and so never overlap.
	forUpdate string

	// writeTx is the isolation of the Store's own multi-statement writes
	// (UpdateUser…): read committed plus row locks in PostgreSQL, so that
	// contending updaters wait rather than fail. inTx is InTx's isolation:
	// serializable, as in dex, so that check-then-write logic (cycle checks)
	// is safe; its serialization failures are retried.
	writeTx, inTx *sql.TxOptions

	// timeArg converts a (UTC, microsecond) time to the column's stored form.
	timeArg func(time.Time) any

	// jsonElems returns a FROM item that yields the string elements of the
	// JSON array expression col as column "je.value". elemFold lower-cases
	// such an element in SQL, ASCII only in both dialects (SQLite's lower()
	// folds only ASCII; PostgreSQL's does the same under COLLATE "C").
	jsonElems func(col string) string
	elemFold  string
	// jsonLen names the function giving a JSON array's length.
	jsonLen string

	// inIDs returns the condition that col is one of the ids in parameter
	// ph, whose argument idsArg makes: a JSON array expanded by json_each
	// in SQLite, a text[] in PostgreSQL (whose planner, seeing its length,
	// then probes col's index instead of scanning).
	inIDs  func(col, ph string) string
	idsArg func(ids []string) any
	// addToSet returns an expression for the JSON string array col with
	// the string parameter ph appended unless present (NULL counts as []).
	addToSet func(col, ph string) string
	// timeParam wraps a timestamp parameter whose type PostgreSQL cannot
	// infer (a CASE branch, a VALUES row): CAST(… AS timestamptz) there,
	// the bare parameter in SQLite.
	timeParam func(ph string) string
	// skipLocked is appended to the SELECT that picks rows to claim, so
	// that concurrent claimers pass over each other's rows (PostgreSQL).
	// SQLite needs none: its write transactions never overlap.
	skipLocked string

	// code extracts the error class of a driver error.
	code func(error) errClass
}

// errClass is the database-independent meaning of a driver error.
type errClass int

const (
	errOther      errClass = iota
	errUnique              // unique or primary key violation
	errForeignKey          // foreign key violation
	errRetry               // serialization failure or deadlock: run again
)

var sqliteDialect = &dialect{
	name:        "sqlite",
	goose:       goose.DialectSQLite3,
	placeholder: func(n int) string { return "?" + strconv.Itoa(n) },
	forUpdate:   "",
	writeTx:     nil, // BEGIN IMMEDIATE comes from the write pool's _txlock
	inTx:        nil,
	timeArg: func(t time.Time) any {
		return t.Format(sqliteTimeLayout)
	},
	jsonElems: func(col string) string { return "json_each(" + col + ") AS je" },
	elemFold:  "lower(je.value)",
	jsonLen:   "json_array_length",
	inIDs:     func(col, ph string) string { return col + " IN (SELECT value FROM json_each(" + ph + "))" },
	idsArg:    func(ids []string) any { return jsonList(ids) },
	addToSet: func(col, ph string) string {
		return "CASE WHEN EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE value = " + ph + ") THEN " + col +
			" ELSE json_insert(COALESCE(" + col + ", '[]'), '$[#]', " + ph + ") END"
	},
	timeParam:  func(ph string) string { return ph },
	skipLocked: "",
	code: func(err error) errClass {
		var se *sqlite.Error
		if !errors.As(err, &se) {
			return errOther
		}
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
		return errOther
	},
}

var postgresDialect = &dialect{
	name:        "postgres",
	goose:       goose.DialectPostgres,
	placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	forUpdate:   " FOR UPDATE",
	writeTx:     &sql.TxOptions{Isolation: sql.LevelReadCommitted},
	inTx:        &sql.TxOptions{Isolation: sql.LevelSerializable},
	timeArg:     func(t time.Time) any { return t },
	jsonElems:   func(col string) string { return "jsonb_array_elements_text(" + col + ") AS je(value)" },
	elemFold:    `lower(je.value COLLATE "C")`,
	jsonLen:     "jsonb_array_length",
	inIDs:       func(col, ph string) string { return col + " = ANY(CAST(" + ph + " AS text[]))" },
	idsArg:      func(ids []string) any { return ids },
	addToSet: func(col, ph string) string {
		return "CASE WHEN " + col + " @> jsonb_build_array(CAST(" + ph + " AS text)) THEN " + col +
			" ELSE COALESCE(" + col + ", '[]'::jsonb) || jsonb_build_array(CAST(" + ph + " AS text)) END"
	},
	timeParam:  func(ph string) string { return "CAST(" + ph + " AS timestamptz)" },
	skipLocked: " FOR UPDATE SKIP LOCKED",
	code: func(err error) errClass {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			return errOther
		}
		switch pe.Code {
		case "23505": // unique_violation
			return errUnique
		case "23503": // foreign_key_violation
			return errForeignKey
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return errRetry
		}
		return errOther
	},
}

// inIDsN is inIDs for a chunk of n ids: for one id, the plain equality
// (cheaper than expanding a one-element array, and a text of its own).
func (d *dialect) inIDsN(col, ph string, n int) string {
	if n == 1 {
		return col + " = " + ph
	}
	return d.inIDs(col, ph)
}

// idsArgN is the argument inIDsN(…, len(ids)) takes.
func (d *dialect) idsArgN(ids []string) any {
	if len(ids) == 1 {
		return ids[0]
	}
	return d.idsArg(ids)
}
