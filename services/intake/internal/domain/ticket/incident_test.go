package ticket

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

var testIncident = IncidentLink{ID: uuid.MustParse("01890000-0000-7000-8000-0000000000c1"), Number: "INC20231026001",
	TeamGroupID: uuid.MustParse("01890000-0000-7000-8000-0000000000c2"), MinUrgency: UrgencyCritical}

func TestNewTicketMatchingAnIncidentIsLinkedAndRaised(t *testing.T) {
	t.Parallel()
	in := validSubmission()
	var asked IncidentFacts
	in.MatchIncident = func(f IncidentFacts) *IncidentLink { asked = f; l := testIncident; return &l }
	tk, ch, err := New(in, testPolicy(), testNow)
	require.NoError(t, err)
	require.Equal(t, "web_chat", asked.Channel)
	require.Contains(t, asked.Text, "hello, a question")
	require.Equal(t, testIncident.ID, tk.IncidentID)
	require.Equal(t, UrgencyCritical, tk.Urgency)
	require.Equal(t, DerivePriority(UrgencyCritical, tk.Level), tk.Priority)
	require.Equal(t, testIncident.TeamGroupID, ch.Events[0].IncidentGroupID, "routing learns the team from the created event")
	require.Equal(t, testIncident.ID, ch.Events[0].LinkedIncident)
	require.Contains(t, ch.Timeline[0].Text, "INC20231026001")

	in.MatchIncident = func(IncidentFacts) *IncidentLink { return nil }
	tk, ch, err = New(in, testPolicy(), testNow)
	require.NoError(t, err)
	require.Equal(t, uuid.Nil, tk.IncidentID)
	require.Equal(t, uuid.Nil, ch.Events[0].IncidentGroupID)
}

func TestLinkIncident(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     Status
		urgency    Urgency
		group      uuid.UUID
		wantKinds  []EventKind
		wantAgent  uuid.UUID
		wantStatus Status
		wantErr    bool
	}{
		{"a new ticket is raised and handed to the team", StatusNew, UrgencyNormal, uuid.Nil,
			[]EventKind{EventUpdated, EventAssigned}, uuid.Nil, StatusAssigned, false},
		{"an in-progress ticket in another group loses its agent to the team", StatusInProgress, UrgencyNormal, testGroup,
			[]EventKind{EventUpdated, EventAssigned}, uuid.Nil, StatusInProgress, false},
		{"a ticket already in the team keeps its agent", StatusInProgress, UrgencyNormal, testIncident.TeamGroupID,
			[]EventKind{EventUpdated, EventAssigned}, testAgent, StatusInProgress, false},
		{"a critical ticket is not raised", StatusAssigned, UrgencyCritical, testGroup,
			[]EventKind{EventAssigned}, uuid.Nil, StatusAssigned, false},
		{"a resolved ticket cannot be linked", StatusResolved, UrgencyNormal, testGroup, nil, testAgent, StatusResolved, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tk := fixture(t, tc.status)
			tk.Urgency, tk.Priority = tc.urgency, DerivePriority(tc.urgency, tk.Level)
			tk.GroupID = tc.group
			if tc.status == StatusNew {
				tk.AssigneeID = uuid.Nil
			}
			before := tk.Version
			ch, err := tk.LinkIncident(testIncident, staff, testNow)
			if tc.wantErr {
				require.Error(t, err)
				require.Equal(t, before, tk.Version)
				return
			}
			require.NoError(t, err)
			var kinds []EventKind
			for i, e := range ch.Events {
				kinds = append(kinds, e.Kind)
				require.Equal(t, before+int64(i)+1, e.Seq, "one version per event")
			}
			require.Equal(t, tc.wantKinds, kinds)
			require.Len(t, ch.Timeline, len(ch.Events))
			last := ch.Events[len(ch.Events)-1]
			require.Equal(t, testIncident.ID, last.LinkedIncident)
			require.Equal(t, testIncident.TeamGroupID, tk.GroupID)
			require.Equal(t, tc.wantAgent, tk.AssigneeID)
			require.Equal(t, tc.wantStatus, tk.Status)
			require.Equal(t, UrgencyCritical, tk.Urgency)

			again, err := tk.LinkIncident(testIncident, staff, testNow)
			require.NoError(t, err)
			require.True(t, again.Empty(), "linking twice changes nothing")
		})
	}
}
