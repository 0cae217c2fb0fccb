package platform

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/pgxutil"
)

// DeadLettersCommand is every consuming service's `dead-letters` subcommand, on o.Schema through
// o.DatabaseURL (the runtime role):
//
//	dead-letters list [--consumer routing-tickets] [--all]   the parked events (--all: replayed ones too)
//	dead-letters replay --consumer routing-tickets (--id 12 --id 13 | --all)
//
// A replay only marks the dead letters: the running service's consumer feeds each back through its
// handler within a few seconds (events.ConsumerConfig.ReplayPoll), and `list` then shows the outcome.
func DeadLettersCommand(ctx context.Context, args []string, o Options, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("dead-letters: want list or replay")
	}
	fs := flag.NewFlagSet("dead-letters "+args[0], flag.ContinueOnError)
	fs.SetOutput(out)
	consumer := fs.String("consumer", "", "the durable consumer, e.g. routing-tickets")
	all := fs.Bool("all", false, "list: replayed dead letters too; replay: every parked one of the consumer")
	var ids idList
	if args[0] == "replay" {
		fs.Var(&ids, "id", "a dead letter's id, as list shows it (repeatable)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("dead-letters %s: unexpected %q", args[0], fs.Arg(0))
	}
	switch args[0] {
	case "list", "replay":
	default:
		return fmt.Errorf("dead-letters: unknown command %q: want list or replay", args[0])
	}
	if args[0] == "replay" {
		switch {
		case *consumer == "":
			return errors.New("dead-letters replay: --consumer is required")
		case len(ids) == 0 && !*all:
			return errors.New("dead-letters replay: name dead letters with --id, or every parked one with --all")
		case len(ids) > 0 && *all:
			return errors.New("dead-letters replay: --id and --all exclude each other")
		}
	}
	pool, err := pgxutil.Open(ctx, o.DatabaseURL, pgxutil.Options{Schema: o.Schema, MaxConns: 2, AppName: o.Schema + "-dead-letters"})
	if err != nil {
		return err
	}
	defer pool.Close()
	if args[0] == "replay" {
		n, err := events.RequestReplay(ctx, pool, *consumer, ids)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%d dead letters of %s marked for replay; the running service applies them within seconds (see `dead-letters list --all`)\n", n, *consumer)
		return err
	}
	ls, err := events.ListDeadLetters(ctx, pool, *consumer, *all)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 2, 8, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tCONSUMER\tSUBJECT\tEVENT\tSTREAM SEQ\tDELIVERIES\tFAILED AT\tSTATE\tERROR")
	for _, d := range ls {
		state := "parked"
		switch {
		case d.ReplayRequested:
			state = "replay requested"
		case d.ReplayedAt != nil:
			state = "replayed " + d.ReplayedAt.UTC().Format(time.RFC3339)
		case d.Replays > 0:
			state = fmt.Sprintf("parked (replay failed %d×)", d.Replays)
		}
		text, _, _ := strings.Cut(d.Error, "\n")
		if len(text) > 120 {
			text = text[:120] + "…"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.ID, d.Consumer, d.Subject, d.EventID, d.StreamSeq,
			d.NumDelivered, d.FailedAt.UTC().Format(time.RFC3339), state, text)
	}
	return w.Flush()
}

// idList is a repeatable --id flag.
type idList []int64

func (l *idList) String() string { return fmt.Sprint([]int64(*l)) }

func (l *idList) Set(v string) error {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("not a dead letter id: %q", v)
	}
	*l = append(*l, id)
	return nil
}
