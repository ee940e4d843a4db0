package ssf

// Subject identifier formats: RFC 9493 §3.2 and SSF 1.0 §3 (complex,
// jwt_id, saml_assertion_id).
const (
	FormatAccount         = "account"
	FormatEmail           = "email"
	FormatIssSub          = "iss_sub"
	FormatOpaque          = "opaque"
	FormatPhoneNumber     = "phone_number"
	FormatDID             = "did"
	FormatURI             = "uri"
	FormatAliases         = "aliases"
	FormatComplex         = "complex"
	FormatJWTID           = "jwt_id"
	FormatSAMLAssertionID = "saml_assertion_id"
)

// Subject is a subject identifier (RFC 9493 §3, "sub_id"), or an SSF
// complex subject (SSF 1.0 §3.2). Format selects which members are set;
// build one with the constructors so exactly those are:
//
//	account           URI ("acct:" URI)
//	email             Email
//	iss_sub           Iss, Sub
//	opaque            ID
//	phone_number      PhoneNumber (E.164)
//	did               URL
//	uri               URI
//	aliases           Identifiers
//	jwt_id            Iss, JTI
//	saml_assertion_id Issuer, AssertionID
//	complex           User, Device, Session, Application, Tenant, OrgUnit,
//	                  Group (each itself a simple Subject; at least one)
type Subject struct {
	Format string `json:"format"`

	URI         string    `json:"uri,omitempty"`
	Email       string    `json:"email,omitempty"`
	Iss         string    `json:"iss,omitempty"`
	Sub         string    `json:"sub,omitempty"`
	ID          string    `json:"id,omitempty"`
	PhoneNumber string    `json:"phone_number,omitempty"`
	URL         string    `json:"url,omitempty"`
	Identifiers []Subject `json:"identifiers,omitempty"`
	JTI         string    `json:"jti,omitempty"`
	Issuer      string    `json:"issuer,omitempty"`
	AssertionID string    `json:"assertion_id,omitempty"`

	User        *Subject `json:"user,omitempty"`
	Device      *Subject `json:"device,omitempty"`
	Session     *Subject `json:"session,omitempty"`
	Application *Subject `json:"application,omitempty"`
	Tenant      *Subject `json:"tenant,omitempty"`
	OrgUnit     *Subject `json:"org_unit,omitempty"`
	Group       *Subject `json:"group,omitempty"`
}

// EmailSubject is an "email" subject identifier (RFC 9493 §3.2.2).
func EmailSubject(email string) Subject { return Subject{Format: FormatEmail, Email: email} }

// IssSubSubject is an "iss_sub" subject identifier (RFC 9493 §3.2.3): the
// issuer and subject of an OpenID Connect ID token.
func IssSubSubject(iss, sub string) Subject { return Subject{Format: FormatIssSub, Iss: iss, Sub: sub} }

// OpaqueSubject is an "opaque" subject identifier (RFC 9493 §3.2.4).
func OpaqueSubject(id string) Subject { return Subject{Format: FormatOpaque, ID: id} }

// AccountSubject is an "account" subject identifier (RFC 9493 §3.2.1); uri
// is an "acct:" URI (RFC 7565).
func AccountSubject(uri string) Subject { return Subject{Format: FormatAccount, URI: uri} }
