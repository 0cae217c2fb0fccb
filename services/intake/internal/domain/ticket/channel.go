package ticket

// Channel is where a ticket came in, and the channel a reply went out on. The submit channel is the
// customer's preferred channel for replies unless a reply names another one.
type Channel int8

// Channels. The zero value is unspecified and never valid on a ticket.
const (
	ChannelUnspecified Channel = iota
	ChannelPhone
	ChannelWebChat
	ChannelApp
	ChannelMiniProgram
	ChannelEmail
	ChannelWeChat
	ChannelSMS
	ChannelStore
	ChannelSocial
)

var channelNames = []string{"unspecified", "phone", "web_chat", "app", "mini_program", "email", "wechat", "sms", "store", "social"}

// String returns the lower snake name stored in the database and used in events.
func (c Channel) String() string { return enumName(c, channelNames) }

// Valid reports whether c is a real channel (not unspecified, not out of range).
func (c Channel) Valid() bool { return c > ChannelUnspecified && int(c) < len(channelNames) }

// ParseChannel parses a name produced by String; "unspecified" is rejected because it is never stored.
func ParseChannel(s string) (Channel, error) {
	return parseEnum[Channel]("channel", s, channelNames, 1)
}

// ContactKind is the kind of customer contact an adapter hands over.
type ContactKind int8

// Contact kinds. The zero value is unspecified and never valid.
const (
	ContactUnspecified ContactKind = iota
	ContactPhone
	ContactEmail
	ContactWeChat
)

var contactKindNames = []string{"unspecified", "phone", "email", "wechat"}

// String returns the lower snake name stored in the database.
func (k ContactKind) String() string { return enumName(k, contactKindNames) }

// Valid reports whether k is a real contact kind.
func (k ContactKind) Valid() bool { return k > ContactUnspecified && int(k) < len(contactKindNames) }

// ParseContactKind parses a name produced by String.
func ParseContactKind(s string) (ContactKind, error) {
	return parseEnum[ContactKind]("contact kind", s, contactKindNames, 1)
}
