package ticket

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestArchiveCompleteness(t *testing.T) {
	t.Parallel()
	rated := func(tk *Ticket) {
		tk.Satisfaction = &SatisfactionRecord{Rating: SatisfactionSatisfied, Resolution: tk.ResolutionCount}
	}
	tests := []struct {
		name    string
		prepare func(tk *Ticket)
		missing []string
	}{
		{"a complete ticket archives", rated, nil},
		{"a waiver stands in for a rating", func(tk *Ticket) {
			tk.Satisfaction = &SatisfactionRecord{Waived: true, Resolution: tk.ResolutionCount}
		}, nil},
		{"a consented contact identifies the customer", func(tk *Ticket) {
			rated(tk)
			tk.CustomerID = uuid.Nil
			tk.Contact = &Contact{Kind: ContactWeChat, Value: "wxid_1", Purpose: "follow-up"}
		}, nil},
		{"an unidentified customer is missing", func(tk *Ticket) { rated(tk); tk.CustomerID = uuid.Nil }, []string{PreconditionCustomerIdentified}},
		{"no handling record is missing", func(tk *Ticket) { rated(tk); tk.HandlingCount = 0 }, []string{PreconditionHandlingRecord}},
		{"a blank summary is missing", func(tk *Ticket) { rated(tk); tk.ResolutionSummary = " " }, []string{PreconditionResolutionSummary}},
		{"no rating is missing", func(*Ticket) {}, []string{PreconditionSatisfaction}},
		{"a rating of an earlier resolution is missing", func(tk *Ticket) {
			tk.ResolutionCount = 2
			tk.Satisfaction = &SatisfactionRecord{Rating: SatisfactionSatisfied, Resolution: 1}
		}, []string{PreconditionSatisfaction}},
		{"every missing item is listed at once", func(tk *Ticket) {
			tk.CustomerID, tk.HandlingCount, tk.ResolutionSummary = uuid.Nil, 0, ""
		}, []string{PreconditionCustomerIdentified, PreconditionHandlingRecord, PreconditionResolutionSummary, PreconditionSatisfaction}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, StatusClosed)
			tc.prepare(tk)
			before := *tk
			ch, err := tk.Archive(staff, testNow)
			if len(tc.missing) == 0 {
				require.NoError(t, err)
				requireOneChange(t, tk, before.Version, ch, EventArchived)
				require.Equal(t, StatusArchived, tk.Status)
				require.Equal(t, testNow, tk.ArchivedAt)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apierr.KindFailedPrecondition, e.Kind)
			require.Equal(t, ReasonArchiveIncomplete, e.Reason)
			require.Equal(t, "closed", e.Meta["current_state"])
			var types []string
			for _, p := range e.Preconditions {
				types = append(types, p.Type)
				require.Equal(t, tk.ID.String(), p.Subject)
				require.NotEmpty(t, p.Description)
				require.Contains(t, e.Message, p.Type)
			}
			require.Equal(t, tc.missing, types)
			require.Equal(t, before, *tk)
		})
	}
}
