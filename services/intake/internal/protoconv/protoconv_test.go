package protoconv_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
)

// protoName is the lower-case suffix of an enum value's name after prefix (CHANNEL_WEB_CHAT → web_chat).
func protoName(v protoreflect.Enum, prefix string) string {
	name := string(v.Descriptor().Values().ByNumber(v.Number()).Name())
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}

// TestEnumsMapByName checks every domain value against the proto value it converts to, by name, both ways,
// so reordering either enum breaks this test rather than the API.
func TestEnumsMapByName(t *testing.T) {
	t.Parallel()
	t.Run("channels", func(t *testing.T) {
		t.Parallel()
		for c := ticket.ChannelPhone; c.Valid(); c++ {
			require.Equal(t, c.String(), protoName(protoconv.Channel(c), "CHANNEL_"))
			require.Equal(t, c, protoconv.ChannelFromProto(protoconv.Channel(c)))
		}
	})
	t.Run("statuses", func(t *testing.T) {
		t.Parallel()
		for _, s := range ticket.Statuses() {
			require.Equal(t, s.String(), protoName(protoconv.Status(s), "TICKET_STATUS_"))
			require.Equal(t, s, protoconv.StatusFromProto(protoconv.Status(s)))
		}
	})
	t.Run("types", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, intakev1.TicketType_TICKET_TYPE_UNSPECIFIED, protoconv.Type(ticket.TypeUnclassified))
		for _, ty := range ticket.Types() {
			require.Equal(t, ty.String(), protoName(protoconv.Type(ty), "TICKET_TYPE_"))
			require.Equal(t, ty, protoconv.TypeFromProto(protoconv.Type(ty)))
		}
	})
	t.Run("urgencies, levels and priorities", func(t *testing.T) {
		t.Parallel()
		for u := ticket.UrgencyNormal; u.Valid(); u++ {
			require.Equal(t, u.String(), protoName(protoconv.Urgency(u), "URGENCY_"))
		}
		require.Equal(t, intakev1.ComplaintLevel_COMPLAINT_LEVEL_UNSPECIFIED, protoconv.Level(ticket.LevelNone))
		for l := ticket.LevelL1; l.Valid(); l++ {
			require.Equal(t, l.String(), protoName(protoconv.Level(l), "COMPLAINT_LEVEL_"))
			require.Equal(t, l, protoconv.LevelFromProto(protoconv.Level(l)))
		}
		for p := ticket.PriorityP1; p.Valid(); p++ {
			require.Equal(t, p.String(), protoName(protoconv.Priority(p), "PRIORITY_"))
		}
	})
	t.Run("ratings and contact kinds", func(t *testing.T) {
		t.Parallel()
		for s := ticket.SatisfactionSatisfied; s.Valid(); s++ {
			require.Equal(t, s.String(), protoName(protoconv.Satisfaction(s), "SATISFACTION_"))
		}
		for k := ticket.ContactPhone; k.Valid(); k++ {
			require.Equal(t, k.String(), protoName(protoconv.ContactKind(k), "CONTACT_KIND_"))
		}
	})
	t.Run("verification methods", func(t *testing.T) {
		t.Parallel()
		for m := ticket.VerificationOrderNumber; m.Valid(); m++ {
			require.Equal(t, m.String(), protoName(protoconv.VerificationMethod(m), "VERIFICATION_METHOD_"))
		}
	})
	t.Run("classification sources", func(t *testing.T) {
		t.Parallel()
		want := map[ticket.ClassificationSource]intakev1.ClassificationSource{
			ticket.SourceNone:        intakev1.ClassificationSource_CLASSIFICATION_SOURCE_UNSPECIFIED,
			ticket.SourceAdapterHint: intakev1.ClassificationSource_CLASSIFICATION_SOURCE_ADAPTER,
			ticket.SourceRule:        intakev1.ClassificationSource_CLASSIFICATION_SOURCE_RULE,
			ticket.SourceStaff:       intakev1.ClassificationSource_CLASSIFICATION_SOURCE_STAFF,
		}
		for d, p := range want {
			require.Equal(t, p, protoconv.Source(d), d.String())
		}
	})
	t.Run("actor kinds", func(t *testing.T) {
		t.Parallel()
		for _, k := range []string{ticket.ActorAdapter, ticket.ActorStaff, ticket.ActorService, ticket.ActorSystem} {
			require.Equal(t, k, protoName(protoconv.ActorKind(k), "ACTOR_KIND_"))
		}
	})
	t.Run("every event kind has a timeline entry kind", func(t *testing.T) {
		t.Parallel()
		for k := ticket.EventCreated; k <= ticket.EventArchived; k++ {
			require.NotEqual(t, intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_UNSPECIFIED, protoconv.EntryKind(k), k.String())
		}
	})
}
