-- +goose Up
-- What a breached SLA target or an escalation of a group's ticket does (routing.EscalationPolicy).
ALTER TABLE groups ADD COLUMN escalation_policy text NOT NULL DEFAULT 'notify_head',
    ADD CONSTRAINT groups_escalation_policy_check CHECK (escalation_policy IN ('notify_head', 'reassign_to_senior'));

-- +goose Down
ALTER TABLE groups DROP CONSTRAINT groups_escalation_policy_check, DROP COLUMN escalation_policy;
