package app

import (
	"context"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// TemplateView is a template as listed: an admin's (with who changed it) or a built-in default.
type TemplateView struct {
	store.StoredTemplate
	Builtin bool
}

// templates returns the admins' templates followed by the defaults, so message.TemplateFor prefers an
// admin's over a built-in one for the same kind, channel and language.
func (a *App) templates(ctx context.Context) ([]message.Template, error) {
	stored, err := a.st.Templates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]message.Template, 0, len(stored)+16)
	for _, t := range stored {
		out = append(out, t.Template)
	}
	return append(out, message.Defaults()...), nil
}

// Templates lists every template in effect: each admin's one, and each default no admin replaced; only
// kind's when kind is set.
func (a *App) Templates(ctx context.Context, kind message.Kind) ([]TemplateView, error) {
	stored, err := a.st.Templates(ctx)
	if err != nil {
		return nil, err
	}
	type key struct {
		k    message.Kind
		c    message.Channel
		lang string
	}
	seen := map[key]bool{}
	var out []TemplateView
	for _, t := range stored {
		seen[key{t.Kind, t.Channel, t.Language}] = true
		if kind == "" || t.Kind == kind {
			out = append(out, TemplateView{StoredTemplate: t})
		}
	}
	for _, t := range message.Defaults() {
		if !seen[key{t.Kind, t.Channel, t.Language}] && (kind == "" || t.Kind == kind) {
			out = append(out, TemplateView{StoredTemplate: store.StoredTemplate{Template: t}, Builtin: true})
		}
	}
	return out, nil
}

// SetTemplate stores an admin's template after checking that it uses only its kind's variables and that
// its sections are balanced.
func (a *App) SetTemplate(ctx context.Context, t message.Template) (TemplateView, error) {
	if !t.Channel.Valid() && t.Channel != "" {
		return TemplateView{}, apierr.InvalidField("template.channel", "is not a channel")
	}
	vars := message.Variables(t.Kind)
	if vars == nil {
		return TemplateView{}, apierr.InvalidField("template.kind", "is not a message kind")
	}
	if err := message.Check(t.Body, vars); err != nil {
		return TemplateView{}, apierr.InvalidField("template.body", err.Error())
	}
	st := store.StoredTemplate{Template: t, UpdateActor: actorOf(ctx), UpdatedAt: a.clock.Now()}
	if err := a.st.SetTemplate(ctx, st); err != nil {
		return TemplateView{}, err
	}
	return TemplateView{StoredTemplate: st}, nil
}
