// Package config owns the typed configuration of `vigil serve`: the
// contract's flags and VIGIL_* environment variables (a flag wins over the
// environment), their defaults, and Validate, which reports every problem at
// once. It does no work beyond checking values (and probing that the data
// directory is writable).
package config
