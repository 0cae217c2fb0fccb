package message

// Channel is a customer channel, spelled as the lower snake token used in the database and in events
// (the same names as intake's ticket channels).
type Channel string

// Channels.
const (
	ChannelPhone       Channel = "phone"
	ChannelWebChat     Channel = "web_chat"
	ChannelApp         Channel = "app"
	ChannelMiniProgram Channel = "mini_program"
	ChannelEmail       Channel = "email"
	ChannelWeChat      Channel = "wechat"
	ChannelSMS         Channel = "sms"
	ChannelStore       Channel = "store"
	ChannelSocial      Channel = "social"
)

// ContactKind is the kind of a customer contact, and so of an address a message can be sent to.
type ContactKind string

// Contact kinds.
const (
	ContactPhone  ContactKind = "phone"
	ContactEmail  ContactKind = "email"
	ContactWeChat ContactKind = "wechat"
)

// Valid reports whether c is one of the known channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelPhone, ChannelWebChat, ChannelApp, ChannelMiniProgram, ChannelEmail, ChannelWeChat,
		ChannelSMS, ChannelStore, ChannelSocial:
		return true
	}
	return false
}

// Deliverable reports whether a message can go out on c at all. The store channel is a walk-in counter:
// there is nothing to send to, so it is never deliverable; neither is an unknown value.
func (c Channel) Deliverable() bool { return c.Valid() && c != ChannelStore }

// Needs returns the kind of contact an address on c must be. The second result is false when c needs no
// contact: the session channels (web chat, app, mini program, social), where the adapter reaches the
// customer through the conversation the ticket belongs to and is addressed by ticket id, and channels
// that are not deliverable (check Deliverable first).
func (c Channel) Needs() (ContactKind, bool) {
	switch c {
	case ChannelPhone, ChannelSMS:
		return ContactPhone, true
	case ChannelEmail:
		return ContactEmail, true
	case ChannelWeChat:
		return ContactWeChat, true
	}
	return "", false
}
