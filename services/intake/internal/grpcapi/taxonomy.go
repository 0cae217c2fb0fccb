package grpcapi

import (
	"context"
	"fmt"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
	"kefu.dev/services/intake/internal/store"
)

// ListSubcategories lists the taxonomy.
func (s *Server) ListSubcategories(ctx context.Context, req *intakev1.ListSubcategoriesRequest) (*intakev1.ListSubcategoriesResponse, error) {
	subs, err := s.app.ListSubcategories(ctx, protoconv.TypeFromProto(req.GetType()), req.GetIncludeInactive())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListSubcategoriesResponse{}
	for _, sc := range subs {
		resp.Subcategories = append(resp.Subcategories, subcategoryProto(sc))
	}
	return resp, nil
}

// CreateSubcategory adds a subcategory.
func (s *Server) CreateSubcategory(ctx context.Context, req *intakev1.CreateSubcategoryRequest) (*intakev1.CreateSubcategoryResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	sc, err := s.app.CreateSubcategory(ctx, req.GetIdempotencyKey(), fp, ticket.Subcategory{
		Type: protoconv.TypeFromProto(req.GetType()), Code: req.GetCode(), NameZH: req.GetNameZh(), NameEN: req.GetNameEn(),
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.CreateSubcategoryResponse{Subcategory: subcategoryProto(sc)}, nil
}

// UpdateSubcategory renames or (de)activates a subcategory.
func (s *Server) UpdateSubcategory(ctx context.Context, req *intakev1.UpdateSubcategoryRequest) (*intakev1.UpdateSubcategoryResponse, error) {
	typ, code, err := ticket.ParseTarget(req.GetFullCode())
	if err != nil {
		return nil, apierr.InvalidField("full_code", "must be <type>.<code>, e.g. request.refund")
	}
	ch := store.SubcategoryChange{NameZH: req.NameZh, NameEN: req.NameEn, Active: req.Active}
	sc, err := s.app.UpdateSubcategory(ctx, typ, code, ch)
	if err != nil {
		return nil, err
	}
	return &intakev1.UpdateSubcategoryResponse{Subcategory: subcategoryProto(sc)}, nil
}

// ListClassificationRules lists the rules in evaluation order.
func (s *Server) ListClassificationRules(ctx context.Context, _ *intakev1.ListClassificationRulesRequest) (*intakev1.ListClassificationRulesResponse, error) {
	rules, err := s.app.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListClassificationRulesResponse{}
	for _, r := range rules {
		resp.Rules = append(resp.Rules, ruleProto(r))
	}
	return resp, nil
}

// CreateClassificationRule adds a rule.
func (s *Server) CreateClassificationRule(ctx context.Context, req *intakev1.CreateClassificationRuleRequest) (*intakev1.CreateClassificationRuleResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	spec := req.GetRule()
	r := store.Rule{
		Rule: ticket.Rule{
			Position: int(spec.GetPosition()), Keywords: spec.GetKeywords(), Target: spec.GetTarget(),
			SetUrgency: protoconv.UrgencyFromProto(spec.GetSetUrgency()), SetLevel: protoconv.LevelFromProto(spec.GetSetLevel()),
			Enabled: spec.GetEnabled(),
		},
		Description: spec.GetDescription(),
	}
	out, err := s.app.CreateRule(ctx, req.GetIdempotencyKey(), fp, r)
	if err != nil {
		return nil, prefixFields(err, "rule.")
	}
	return &intakev1.CreateClassificationRuleResponse{Rule: ruleProto(out)}, nil
}

// maxRuleDescription is RuleSpec.description's limit in the proto.
const maxRuleDescription = 500

// ruleFields are ClassificationRule's fields, by name, for update masks.
var ruleFields = (&intakev1.ClassificationRule{}).ProtoReflect().Descriptor().Fields()

// UpdateClassificationRule changes the fields of a rule named in update_mask.
func (s *Server) UpdateClassificationRule(ctx context.Context, req *intakev1.UpdateClassificationRuleRequest) (*intakev1.UpdateClassificationRuleResponse, error) {
	in := req.GetRule()
	id, err := parseID("rule.rule_id", in.GetRuleId())
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, p := range req.GetUpdateMask().GetPaths() {
		switch p {
		case "position", "keywords", "target", "set_urgency", "set_level", "enabled":
		case "description":
			// The resource message has no constraints (it is also a response); RuleSpec's limit applies.
			if err := ticket.CheckText("rule.description", in.GetDescription(), maxRuleDescription, false); err != nil {
				return nil, err
			}
		default:
			// rule_id, create_time and update_time are output only: ignored, never obeyed (AIP-203).
			if ruleFields.ByName(protoreflect.Name(p)) == nil {
				return nil, apierr.InvalidField("update_mask", fmt.Sprintf("path %q is not a field of ClassificationRule", p))
			}
			continue
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one updatable field")
	}
	out, err := s.app.UpdateRule(ctx, id, func(r *store.Rule) {
		for _, p := range paths {
			switch p {
			case "position":
				r.Position = int(in.GetPosition())
			case "keywords":
				r.Keywords = in.GetKeywords()
			case "target":
				r.Target = in.GetTarget()
			case "set_urgency":
				r.SetUrgency = protoconv.UrgencyFromProto(in.GetSetUrgency())
			case "set_level":
				r.SetLevel = protoconv.LevelFromProto(in.GetSetLevel())
			case "enabled":
				r.Enabled = in.GetEnabled()
			case "description":
				r.Description = in.GetDescription()
			}
		}
	})
	if err != nil {
		return nil, prefixFields(err, "rule.")
	}
	return &intakev1.UpdateClassificationRuleResponse{Rule: ruleProto(out)}, nil
}

// DeleteClassificationRule deletes a rule.
func (s *Server) DeleteClassificationRule(ctx context.Context, req *intakev1.DeleteClassificationRuleRequest) (*intakev1.DeleteClassificationRuleResponse, error) {
	id, err := parseID("rule_id", req.GetRuleId())
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteRule(ctx, id); err != nil {
		return nil, err
	}
	return &intakev1.DeleteClassificationRuleResponse{}, nil
}

// TestClassification runs the rules over a text.
func (s *Server) TestClassification(ctx context.Context, req *intakev1.TestClassificationRequest) (*intakev1.TestClassificationResponse, error) {
	d, err := s.app.TestClassification(ctx, req.GetText())
	if err != nil {
		return nil, err
	}
	return &intakev1.TestClassificationResponse{
		Type: protoconv.Type(d.Type), Subcategory: d.Subcategory, RuleId: d.RuleID, Urgency: protoconv.Urgency(d.Urgency),
		Level: protoconv.Level(d.Level), Priority: protoconv.Priority(d.Priority), RaisedBy: d.RaisedBy,
	}, nil
}
