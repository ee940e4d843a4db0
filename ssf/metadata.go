package ssf

import (
	"fmt"
	"net/url"
	"strings"
)

// Transmitter metadata constants (SSF 1.0 §7).
const (
	// WellKnownPath is where transmitter metadata lives (SSF 1.0 §7.2),
	// inserted between the issuer's host and path (see MetadataURL).
	WellKnownPath = "/.well-known/ssf-configuration"
	// SpecVersion10 is the spec_version of SSF 1.0 Final (SSF 1.0 §7.1).
	SpecVersion10 = "1_0"
	// DefaultSubjectsAll: new streams include every appropriate subject
	// (SSF 1.0 §7.1, "default_subjects").
	DefaultSubjectsAll = "ALL"
	// DefaultSubjectsNone: new streams include no subject until the
	// receiver adds it.
	DefaultSubjectsNone = "NONE"
	// SchemeOAuth is the spec_urn of OAuth 2.0 bearer authorization (RFC
	// 6749), required by the CAEP interoperability profile.
	SchemeOAuth = "urn:ietf:rfc:6749"
	// SchemeMTLS is the spec_urn of mutual-TLS client authentication (RFC
	// 8705).
	SchemeMTLS = "urn:ietf:rfc:8705"
)

// TransmitterMetadata is the document at the well-known ssf-configuration
// URL (SSF 1.0 §7.1). Empty members are omitted, as §7.2 asks.
type TransmitterMetadata struct {
	// SpecVersion ("spec_version") is SpecVersion10; absent means 1_0-ID1.
	SpecVersion string `json:"spec_version,omitempty"`
	// Issuer ("issuer", REQUIRED) is the SETs' iss; it must equal the URL
	// the metadata was fetched for.
	Issuer string `json:"issuer"`
	// JWKSURI ("jwks_uri") publishes the SET signing keys.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// DeliveryMethodsSupported ("delivery_methods_supported") lists
	// DeliveryPush and/or DeliveryPoll.
	DeliveryMethodsSupported []string `json:"delivery_methods_supported,omitempty"`
	// ConfigurationEndpoint ("configuration_endpoint") manages streams
	// (SSF 1.0 §8.1.1).
	ConfigurationEndpoint string `json:"configuration_endpoint,omitempty"`
	// StatusEndpoint ("status_endpoint") reads and updates stream status
	// (SSF 1.0 §8.1.2).
	StatusEndpoint string `json:"status_endpoint,omitempty"`
	// AddSubjectEndpoint ("add_subject_endpoint", SSF 1.0 §8.1.3.2).
	AddSubjectEndpoint string `json:"add_subject_endpoint,omitempty"`
	// RemoveSubjectEndpoint ("remove_subject_endpoint", SSF 1.0
	// §8.1.3.3).
	RemoveSubjectEndpoint string `json:"remove_subject_endpoint,omitempty"`
	// VerificationEndpoint ("verification_endpoint", SSF 1.0 §8.1.4.2).
	VerificationEndpoint string `json:"verification_endpoint,omitempty"`
	// CriticalSubjectMembers ("critical_subject_members") lists complex
	// subject members a receiver must understand, or drop the event.
	CriticalSubjectMembers []string `json:"critical_subject_members,omitempty"`
	// AuthorizationSchemes ("authorization_schemes") says how receivers
	// authenticate to the endpoints.
	AuthorizationSchemes []AuthorizationScheme `json:"authorization_schemes,omitempty"`
	// DefaultSubjects ("default_subjects") is DefaultSubjectsAll or
	// DefaultSubjectsNone.
	DefaultSubjects string `json:"default_subjects,omitempty"`
}

// AuthorizationScheme is one member of authorization_schemes (SSF 1.0
// §7.1.1): SpecURN names the specification, e.g. SchemeOAuth.
type AuthorizationScheme struct {
	SpecURN string `json:"spec_urn"`
}

// MetadataURL returns the URL of issuer's transmitter metadata (SSF 1.0
// §7.2): WellKnownPath goes between the host and the issuer's path, so
// "https://tr.example.com/issuer1" gives
// "https://tr.example.com/.well-known/ssf-configuration/issuer1".
func MetadataURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("ssf: issuer %q is not an absolute URL without query or fragment", issuer)
	}
	u.Path = WellKnownPath + strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}
