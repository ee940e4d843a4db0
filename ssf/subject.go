package ssf

import "strings"

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

// Equal reports whether s and o identify the same thing in the same way:
// same format and members (email addresses compared case-insensitively,
// RFC 9493 §3.2.2; complex members compared recursively).
func (s Subject) Equal(o Subject) bool {
	if s.Format != o.Format {
		return false
	}
	if s.Format == FormatEmail {
		return strings.EqualFold(s.Email, o.Email)
	}
	if len(s.Identifiers) != len(o.Identifiers) {
		return false
	}
	for i := range s.Identifiers {
		if !s.Identifiers[i].Equal(o.Identifiers[i]) {
			return false
		}
	}
	return s.URI == o.URI && s.Iss == o.Iss && s.Sub == o.Sub && s.ID == o.ID &&
		s.PhoneNumber == o.PhoneNumber && s.URL == o.URL && s.JTI == o.JTI &&
		s.Issuer == o.Issuer && s.AssertionID == o.AssertionID &&
		equalMember(s.User, o.User) && equalMember(s.Device, o.Device) &&
		equalMember(s.Session, o.Session) && equalMember(s.Application, o.Application) &&
		equalMember(s.Tenant, o.Tenant) && equalMember(s.OrgUnit, o.OrgUnit) &&
		equalMember(s.Group, o.Group)
}

func equalMember(a, b *Subject) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// members returns the complex members of s, in a fixed order (nil when
// absent).
func (s Subject) members() [7]*Subject {
	return [7]*Subject{s.User, s.Device, s.Session, s.Application, s.Tenant, s.OrgUnit, s.Group}
}

// Matches reports whether an event about subject event concerns the
// subject filter s (a stream subject added with AddSubjectRequest), by
// structure only (SSF 1.0 §3.2, §8.1.3):
//
//   - two complex subjects match when, for every member, either side
//     omits it or the two values are Equal, so a less specific filter
//     ({user}) matches a more specific event ({user, session});
//   - a simple subject and a complex one match when the simple one Equals
//     one of the complex one's members;
//   - two simple subjects match when Equal; an "aliases" subject matches
//     when one of its identifiers does.
//
// Matching one identifier format against another (an email filter against
// an iss_sub event) needs the transmitter's knowledge of the principal and
// is not done here.
func (s Subject) Matches(event Subject) bool {
	switch {
	case s.Format == FormatAliases:
		for _, id := range s.Identifiers {
			if id.Matches(event) {
				return true
			}
		}
		return false
	case event.Format == FormatAliases:
		for _, id := range event.Identifiers {
			if s.Matches(id) {
				return true
			}
		}
		return false
	case s.Format == FormatComplex && event.Format == FormatComplex:
		fm, em := s.members(), event.members()
		for i := range fm {
			if fm[i] != nil && em[i] != nil && !fm[i].Equal(*em[i]) {
				return false
			}
		}
		return true
	case s.Format == FormatComplex:
		return anyMember(s, event)
	case event.Format == FormatComplex:
		return anyMember(event, s)
	}
	return s.Equal(event)
}

func anyMember(complex, simple Subject) bool {
	for _, m := range complex.members() {
		if m != nil && m.Matches(simple) {
			return true
		}
	}
	return false
}
