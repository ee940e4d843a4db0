// Package secret owns Vigil's handling of secret material: argon2id password
// hashes (PHC strings), keyed hashes of high-entropy client secrets with
// constant-time comparison, generation of random secrets, and the AEAD box
// that encrypts data at rest (signing keys) under the server's encryption
// key. It performs no I/O beyond reading crypto/rand.
package secret
