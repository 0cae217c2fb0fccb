package app

import (
	"context"

	"github.com/google/uuid"

	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// SeedDefaults seeds the default taxonomy and rules once per database (see store.SeedDefaults).
func (a *App) SeedDefaults(ctx context.Context) (bool, error) {
	seeded, err := a.store.SeedDefaults(ctx, ticket.DefaultTaxonomy(), ticket.DefaultRules(), a.now())
	if seeded {
		a.policy.invalidate()
	}
	return seeded, err
}

// ListSubcategories lists the taxonomy, optionally one type only and optionally with inactive entries.
func (a *App) ListSubcategories(ctx context.Context, typ ticket.Type, includeInactive bool) ([]store.Subcategory, error) {
	all, err := a.store.ListSubcategories(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0:0]
	for _, s := range all {
		if (typ == ticket.TypeUnclassified || s.Type == typ) && (includeInactive || s.Active) {
			out = append(out, s)
		}
	}
	return out, nil
}

// CreateSubcategory adds a subcategory, safe to retry with the same key.
func (a *App) CreateSubcategory(ctx context.Context, key string, fingerprint []byte, sc ticket.Subcategory) (store.Subcategory, error) {
	p, _, err := caller(ctx)
	if err != nil {
		return store.Subcategory{}, err
	}
	if err := ticket.ValidateSubcategory(sc); err != nil {
		return store.Subcategory{}, err
	}
	now := a.now()
	claim := idempotency.Claim{Principal: p.String(), Scope: scopeSubcategory, Key: key, Fingerprint: fingerprint,
		ResourceID: ticket.FormatTarget(sc.Type, sc.Code)}
	out, _, err := a.store.CreateSubcategory(ctx, claim, store.Subcategory{Subcategory: sc, Active: true, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return store.Subcategory{}, err
	}
	a.policy.invalidate()
	return out, nil
}

// UpdateSubcategory renames or (de)activates a subcategory.
func (a *App) UpdateSubcategory(ctx context.Context, typ ticket.Type, code string, ch store.SubcategoryChange) (store.Subcategory, error) {
	if _, _, err := caller(ctx); err != nil {
		return store.Subcategory{}, err
	}
	out, err := a.store.UpdateSubcategory(ctx, typ, code, ch, a.now())
	if err != nil {
		return store.Subcategory{}, err
	}
	a.policy.invalidate()
	return out, nil
}

// ListRules lists every rule in evaluation order.
func (a *App) ListRules(ctx context.Context) ([]store.Rule, error) {
	return a.store.ListRules(ctx)
}

// CreateRule adds a keyword rule, safe to retry with the same key. Field names in errors are the rule's
// own (keywords, target, ...); the gRPC layer places them in the request.
func (a *App) CreateRule(ctx context.Context, key string, fingerprint []byte, r store.Rule) (store.Rule, error) {
	p, _, err := caller(ctx)
	if err != nil {
		return store.Rule{}, err
	}
	if err := a.validateRule(ctx, r.Rule); err != nil {
		return store.Rule{}, err
	}
	id, err := newID()
	if err != nil {
		return store.Rule{}, err
	}
	now := a.now()
	r.ID, r.CreatedAt, r.UpdatedAt = id.String(), now, now
	claim := idempotency.Claim{Principal: p.String(), Scope: scopeRule, Key: key, Fingerprint: fingerprint, ResourceID: r.ID}
	out, _, err := a.store.CreateRule(ctx, claim, r, "target")
	if err != nil {
		return store.Rule{}, err
	}
	a.policy.invalidate()
	return out, nil
}

// validateRule checks a rule against the active taxonomy. The store checks the target again under a lock;
// this check reports every bad field at once.
func (a *App) validateRule(ctx context.Context, r ticket.Rule) error {
	pol, err := a.policy.get(ctx)
	if err != nil {
		return err
	}
	tax := pol.taxonomy
	if !r.Enabled {
		// A disabled rule may keep pointing at a subcategory that was deactivated; it is checked again when
		// it is enabled.
		tax = ticket.Taxonomy{}
		for _, s := range pol.subcategories {
			tax.Subcategories = append(tax.Subcategories, s.Subcategory)
		}
	}
	return ticket.ValidateRule(r, tax)
}

// UpdateRule changes a rule: edit receives the stored rule and sets the fields of the update mask.
func (a *App) UpdateRule(ctx context.Context, id uuid.UUID, edit func(r *store.Rule)) (store.Rule, error) {
	if _, _, err := caller(ctx); err != nil {
		return store.Rule{}, err
	}
	out, err := a.store.UpdateRule(ctx, id, "target", a.now(), func(r *store.Rule) error {
		edit(r)
		return a.validateRule(ctx, r.Rule)
	})
	if err != nil {
		return store.Rule{}, err
	}
	a.policy.invalidate()
	return out, nil
}

// DeleteRule deletes a rule.
func (a *App) DeleteRule(ctx context.Context, id uuid.UUID) error {
	if _, _, err := caller(ctx); err != nil {
		return err
	}
	if err := a.store.DeleteRule(ctx, id); err != nil {
		return err
	}
	a.policy.invalidate()
	return nil
}

// TestClassification runs the rules in force over text, creating nothing.
func (a *App) TestClassification(ctx context.Context, text string) (ticket.Decision, error) {
	pol, err := a.policy.get(ctx)
	if err != nil {
		return ticket.Decision{}, err
	}
	return ticket.Decide(text, ticket.Hints{}, pol.active), nil
}
