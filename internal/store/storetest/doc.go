// Package storetest is the conformance suite every store.Store backend
// passes (modelled on dex's storage/conformance). A backend's test is a few
// lines:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
//	}
//
// newStore must return a fresh, empty store and arrange its cleanup. The
// suite is deterministic: it sets every time it stores (no clock reads)
// and sorts before comparing unordered results. Only concurrency tests
// sleep, to shuffle commit order; their verdicts never depend on timing.
//
// Besides the interface comments in internal/store, the suite pins down
// these decisions, which every backend must share:
//
//   - Times come back in UTC, equal to what was written truncated to the
//     microsecond. A zero time in an optional field comes back zero; a zero
//     CreatedDateTime (CreatedAt of signing keys) is filled in by the store.
//   - Slices round-trip exactly: nil stays nil, empty stays empty. Pointer
//     fields: nil stays nil, a pointer to "" stays a pointer to "". Byte
//     slices: empty and nil both come back empty (len 0).
//   - userPrincipalName is unique and looked up under Unicode case folding
//     (strings.ToLower) and is returned as written.
//   - $filter string comparisons fold case the same way; `p ne v` and
//     `not (p eq v)` match objects whose p is null; any() elements fold
//     ASCII case only.
//   - Listing is ordered by the $orderby keys then by id, the id tie-breaker
//     taking the direction of the last key (ascending when there is none);
//     string keys sort by their case-folded value in code point order.
//   - Transitive membership follows cycles without looping; in a cycle a
//     group is its own transitive member.
//   - Update callbacks may run more than once (after a retried
//     serialization failure), so they must be pure.
package storetest
