package grpcapi

import (
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/services/customer/internal/app"
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// code renders an enum value as the domain stores it: its name without the enum's prefix, lower case
// (CHANNEL_WEB_CHAT → web_chat); the zero value is "".
func code(e protoreflect.Enum, prefix string) string {
	if e.Number() == 0 {
		return ""
	}
	name := string(e.Descriptor().Values().ByNumber(e.Number()).Name())
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// number is code's inverse: the enum number of a stored code (0 when unknown or empty).
func number(d protoreflect.EnumDescriptor, prefix, c string) protoreflect.EnumNumber {
	if c == "" {
		return 0
	}
	if v := d.Values().ByName(protoreflect.Name(prefix + strings.ToUpper(c))); v != nil {
		return v.Number()
	}
	return 0
}

func channelCode(c intakev1.Channel) string { return code(c, "CHANNEL_") }

func channelProto(c string) intakev1.Channel {
	return intakev1.Channel(number(intakev1.Channel(0).Descriptor(), "CHANNEL_", c))
}

func contactKind(k intakev1.ContactKind) customer.ContactKind {
	return customer.ContactKind(code(k, "CONTACT_KIND_"))
}

func contactKindProto(k customer.ContactKind) intakev1.ContactKind {
	return intakev1.ContactKind(number(intakev1.ContactKind(0).Descriptor(), "CONTACT_KIND_", string(k)))
}

func provenance(p *customerv1.Provenance) customer.Provenance {
	if p == nil {
		return customer.Provenance{}
	}
	return customer.Provenance{Source: customer.Source(code(p.GetSource(), "SOURCE_")), Detail: p.GetDetail()}
}

func provenanceProto(p customer.Provenance) *customerv1.Provenance {
	if p.Source == "" {
		return nil
	}
	return &customerv1.Provenance{
		Source:     customerv1.Source(number(customerv1.Source(0).Descriptor(), "SOURCE_", string(p.Source))),
		Detail:     p.Detail,
		RecordTime: ts(p.RecordedAt),
	}
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func parseID(s string) uuid.UUID {
	id, _ := uuid.Parse(s) // protovalidate checked the shape; empty stays nil
	return id
}

func consent(c *customerv1.Consent) customer.Consent {
	cs := customer.Consent{Purpose: c.GetPurpose(), Channel: channelCode(c.GetChannel())}
	if c.GetGrantTime() != nil {
		cs.GrantedAt = c.GetGrantTime().AsTime()
	}
	return cs
}

func contact(c *customerv1.ContactPoint) customer.Contact {
	ct := customer.Contact{Kind: contactKind(c.GetKind()), Value: strings.TrimSpace(c.GetValue()),
		Provenance: provenance(c.GetProvenance()), PersonID: parseID(c.GetPersonId())}
	for _, cs := range c.GetConsents() {
		ct.Consents = append(ct.Consents, consent(cs))
	}
	return ct
}

// fromProto turns a request's record into the domain's (output-only fields ignored).
func fromProto(p *customerv1.Customer) customer.Customer {
	c := customer.Customer{
		Kind: customer.Kind(code(p.GetKind(), "CUSTOMER_KIND_")), Tier: p.GetTier(),
		PreferredChannel: channelCode(p.GetPreferredChannel()),
	}
	if in := p.GetIndividual(); in != nil {
		c.Individual = &customer.Individual{Name: strings.TrimSpace(in.GetName()), NationalID: strings.TrimSpace(in.GetNationalId()),
			Gender: code(in.GetGender(), "GENDER_"), Occupation: strings.TrimSpace(in.GetOccupation())}
		if in.Age != nil {
			age := int(in.GetAge())
			c.Individual.Age = &age
		}
		c.Provenance = provenance(in.GetProvenance())
	}
	if en := p.GetEnterprise(); en != nil {
		c.Enterprise = &customer.Enterprise{CompanyName: strings.TrimSpace(en.GetCompanyName()),
			CreditCode: strings.TrimSpace(en.GetCreditCode()), Size: code(en.GetSize(), "ENTERPRISE_SIZE_"),
			Industry: strings.TrimSpace(en.GetIndustry()), RegisteredAddress: strings.TrimSpace(en.GetRegisteredAddress())}
		for _, cp := range en.GetContactPersons() {
			c.Enterprise.Persons = append(c.Enterprise.Persons, customer.Person{ID: parseID(cp.GetPersonId()),
				LinkedCustomerID: parseID(cp.GetCustomerId()), Name: strings.TrimSpace(cp.GetName()), Title: cp.GetTitle()})
		}
		if c.Provenance.Source == "" {
			c.Provenance = provenance(en.GetProvenance())
		}
	}
	for _, ct := range p.GetContacts() {
		c.Contacts = append(c.Contacts, contact(ct))
	}
	for _, k := range p.GetBusinessKeys() {
		c.Keys = append(c.Keys, businessKey(k))
	}
	return c
}

func businessKey(k *customerv1.BusinessKey) customer.BusinessKey {
	return customer.BusinessKey{Kind: customer.KeyKind(code(k.GetKind(), "BUSINESS_KEY_KIND_")), Value: k.GetValue(),
		Provenance: provenance(k.GetProvenance())}
}

// toProto renders a view (masked or not, as the app decided).
func toProto(v app.View) *customerv1.Customer {
	c := v.Customer
	p := &customerv1.Customer{
		CustomerId: c.ID.String(),
		Kind:       customerv1.CustomerKind(number(customerv1.CustomerKind(0).Descriptor(), "CUSTOMER_KIND_", string(c.Kind))),
		Tier:       c.Tier, PreferredChannel: channelProto(c.PreferredChannel),
		State: customerv1.CustomerState(number(customerv1.CustomerState(0).Descriptor(), "CUSTOMER_STATE_", string(c.State))),
		Etag:  app.Etag(&c), Masked: v.Masked,
		CreateTime: ts(c.CreatedAt), UpdateTime: ts(c.UpdatedAt), EraseTime: ts(c.ErasedAt),
	}
	if c.MergedInto != uuid.Nil {
		p.MergedInto = c.MergedInto.String()
	}
	if in := c.Individual; in != nil {
		p.Individual = &customerv1.Individual{Name: in.Name, NationalId: in.NationalID,
			Gender:     customerv1.Gender(number(customerv1.Gender(0).Descriptor(), "GENDER_", in.Gender)),
			Occupation: in.Occupation, Provenance: provenanceProto(c.Provenance)}
		if in.Age != nil {
			age := int32(*in.Age)
			p.Individual.Age = &age
		}
	}
	if en := c.Enterprise; en != nil {
		p.Enterprise = &customerv1.Enterprise{CompanyName: en.CompanyName, CreditCode: en.CreditCode,
			SoleProprietor: en.SoleProprietor,
			Size:           customerv1.EnterpriseSize(number(customerv1.EnterpriseSize(0).Descriptor(), "ENTERPRISE_SIZE_", en.Size)),
			Industry:       en.Industry, RegisteredAddress: en.RegisteredAddress, Provenance: provenanceProto(c.Provenance)}
		for _, pr := range en.Persons {
			cp := &customerv1.ContactPerson{PersonId: pr.ID.String(), Name: pr.Name, Title: pr.Title}
			if pr.LinkedCustomerID != uuid.Nil {
				cp.CustomerId = pr.LinkedCustomerID.String()
			}
			p.Enterprise.ContactPersons = append(p.Enterprise.ContactPersons, cp)
		}
	}
	for _, ct := range c.Contacts {
		cp := &customerv1.ContactPoint{ContactId: ct.ID.String(), Kind: contactKindProto(ct.Kind), Value: ct.Value,
			Provenance: provenanceProto(ct.Provenance), Usable: ct.Usable()}
		if ct.PersonID != uuid.Nil {
			cp.PersonId = ct.PersonID.String()
		}
		for _, cs := range ct.Consents {
			cp.Consents = append(cp.Consents, &customerv1.Consent{Purpose: cs.Purpose, Channel: channelProto(cs.Channel),
				GrantTime: ts(cs.GrantedAt), WithdrawTime: ts(cs.WithdrawnAt)})
		}
		p.Contacts = append(p.Contacts, cp)
	}
	for _, k := range c.Keys {
		p.BusinessKeys = append(p.BusinessKeys, &customerv1.BusinessKey{
			Kind:  customerv1.BusinessKeyKind(number(customerv1.BusinessKeyKind(0).Descriptor(), "BUSINESS_KEY_KIND_", string(k.Kind))),
			Value: k.Value, Provenance: provenanceProto(k.Provenance)})
	}
	return p
}

// deliveryProto renders GetDeliveryContacts' answer; the contacts are unmasked, as the app returned them.
func deliveryProto(d app.Delivery) *customerv1.GetDeliveryContactsResponse {
	resp := &customerv1.GetDeliveryContactsResponse{
		CustomerId:       d.CustomerID.String(),
		PreferredChannel: channelProto(d.PreferredChannel),
		CheckStatus: customerv1.ContactStatus(number(customerv1.ContactStatus(0).Descriptor(), "CONTACT_STATUS_",
			string(d.Check))),
	}
	for _, ct := range d.Contacts {
		resp.Contacts = append(resp.Contacts, &customerv1.DeliveryContact{ContactId: ct.ID.String(),
			Kind: contactKindProto(ct.Kind), Value: ct.Value})
	}
	return resp
}

func tierProto(t store.Tier) *customerv1.Tier {
	return &customerv1.Tier{Code: t.Code, DisplayName: t.DisplayName, Builtin: t.Builtin, CreateTime: ts(t.CreatedAt)}
}
