package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// Events carry ids, codes and times: the SLA service never sees personal data.

// TargetProto is a target as the API and events name it.
func TargetProto(t sla.Target) eventsv1.SlaTarget {
	return protocode.Enum[eventsv1.SlaTarget]("SLA_TARGET_", string(t))
}

// BreachProto is a breach action as the API and events name it.
func BreachProto(b sla.BreachAction) eventsv1.SlaBreachAction {
	return protocode.Enum[eventsv1.SlaBreachAction]("SLA_BREACH_ACTION_", string(b))
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// deadline is a clock as an event's SlaDeadline.
func deadline(c sla.Clock, env sla.Env) (*eventsv1.SlaDeadline, error) {
	due, _, err := c.Schedule(env)
	if err != nil {
		return nil, err
	}
	return &eventsv1.SlaDeadline{Target: TargetProto(c.Target), DueTime: ts(dueOf(c, due)), PolicyId: idString(c.PolicyID),
		Calendar: c.Calendar, Length: durationpb.New(c.Length), Cycle: int32(c.Cycle)}, nil
}

// dueOf hides the due time of a target met at once (length 0): it was never due.
func dueOf(c sla.Clock, due time.Time) time.Time {
	if c.Length <= 0 {
		return time.Time{}
	}
	return due
}

// promises drops the progress clocks from a change's clocks: progress reminders are not promises, so the
// applied, paused, resumed and met events (which analytics counts as SLA targets) never name them. Their
// only event is kefu.sla.progress_due; GetTicketSla shows their schedule.
func promises(ch sla.Change) sla.Change {
	if ch.Kind == sla.ChangeProgressDue {
		return ch
	}
	ch.Clocks = slices.DeleteFunc(slices.Clone(ch.Clocks), func(c sla.Clock) bool { return c.Target == sla.Progress })
	return ch
}

// messages turns changes of ticket row into kefu.sla.* outbox messages, advancing row.SLASeq by one each.
func (a *App) messages(ctx context.Context, row *store.TicketRow, changes []sla.Change, env sla.Env, at time.Time) ([]outbox.Message, error) {
	var out []outbox.Message
	ticket := row.ID.String()
	for _, ch := range changes {
		if len(ch.Clocks) == 0 {
			return nil, fmt.Errorf("a %s change names no clock", ch.Kind)
		}
		if ch = promises(ch); len(ch.Clocks) == 0 {
			continue // a progress clock alone: nothing to publish
		}
		var (
			body proto.Message
			meta = &eventsv1.EventMeta{}
		)
		first := ch.Clocks[0]
		due, next, err := first.Schedule(env)
		if err != nil {
			return nil, err
		}
		due = dueOf(first, due)
		switch ch.Kind {
		case sla.ChangeApplied, sla.ChangeResumed:
			var ds []*eventsv1.SlaDeadline
			for _, c := range ch.Clocks {
				d, err := deadline(c, env)
				if err != nil {
					return nil, err
				}
				ds = append(ds, d)
			}
			if ch.Kind == sla.ChangeResumed {
				body = &eventsv1.SlaResumed{Meta: meta, TicketId: ticket, Deadlines: ds}
				break
			}
			ids := make([]string, len(row.PolicyIDs))
			for i, id := range row.PolicyIDs {
				ids[i] = id.String()
			}
			body = &eventsv1.SlaApplied{Meta: meta, TicketId: ticket, Deadlines: ds, PolicyIds: ids, Recomputed: ch.Recomputed}
		case sla.ChangePaused:
			targets := make([]eventsv1.SlaTarget, len(ch.Clocks))
			for i, c := range ch.Clocks {
				targets[i] = TargetProto(c.Target)
			}
			body = &eventsv1.SlaPaused{Meta: meta, TicketId: ticket, Targets: targets}
		case sla.ChangeWarning:
			body = &eventsv1.SlaWarning{Meta: meta, TicketId: ticket, Target: TargetProto(first.Target), DueTime: ts(due),
				PolicyId: idString(first.PolicyID), Threshold: int32(ch.Threshold), Remaining: durationpb.New(ch.Remaining),
				Late: ch.Late, Cycle: int32(first.Cycle)}
		case sla.ChangeBreached:
			body = &eventsv1.SlaBreached{Meta: meta, TicketId: ticket, Target: TargetProto(first.Target), DueTime: ts(due),
				PolicyId: idString(first.PolicyID), Late: ch.Late, Action: BreachProto(first.Breach), Cycle: int32(first.Cycle)}
		case sla.ChangeMet:
			elapsed, err := first.Elapsed(env)
			if err != nil {
				return nil, err
			}
			body = &eventsv1.SlaMet{Elapsed: durationpb.New(elapsed), Meta: meta, TicketId: ticket, Target: TargetProto(first.Target), DueTime: ts(due),
				MetTime: ts(first.MetAt), Breached: first.State == sla.StateBreached, Cycle: int32(first.Cycle),
				PolicyId: idString(first.PolicyID)}
		case sla.ChangeProgressDue:
			body = &eventsv1.SlaProgressDue{Meta: meta, TicketId: ticket, PolicyId: idString(first.PolicyID),
				Reminder: int32(ch.Threshold), Cycle: int32(first.Cycle), Elapsed: durationpb.New(ch.Elapsed),
				NotifyCustomer: first.NotifyCustomer, GroupId: idString(row.GroupID), AssigneeId: idString(row.AssigneeID),
				ReminderTime: ts(ch.At), Late: ch.Late, NextReminderTime: ts(next)}
		default:
			return nil, fmt.Errorf("unknown change %q", ch.Kind)
		}
		id, err := newID()
		if err != nil {
			return nil, err
		}
		row.SLASeq++
		meta.EventId, meta.Source, meta.AggregateId, meta.AggregateSeq = id.String(), a.cfg.Source, ticket, row.SLASeq
		meta.OccurredAt, meta.Actor = timestamppb.New(at), outbox.ActorOf(ctx, a.cfg.Source)
		m, err := outbox.NewEvent(events.Subject("sla", string(ch.Kind)), body, meta)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
