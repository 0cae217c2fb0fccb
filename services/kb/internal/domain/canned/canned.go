// Package canned is the knowledge base's canned responses in plain Go: short reply templates kept per
// routing group, their variables ({{ticket_number}}, {{subject}}), the check made when one is saved and the
// rendering from a ticket.
package canned

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"kefu.dev/pkg/apierr"
)

// Limits of a canned response.
const (
	MaxTitleRunes = 100
	MaxBodyRunes  = 4000
)

// Variables are what a body may use, filled from the ticket the reply is for. Only what kb can read about
// a ticket is offered: the customer's name and the agent's are not available to it.
var Variables = []string{"ticket_number", "subject"}

// Response is a canned response's content.
type Response struct {
	Title, Body string
}

// Normalize checks r (fields named under prefix: "canned_response.") and returns it with the title
// trimmed.
func (r Response) Normalize(prefix string) (Response, error) {
	var vs []apierr.FieldViolation
	r.Title = strings.TrimSpace(r.Title)
	if msg := checkText(r.Title, MaxTitleRunes); msg != "" {
		vs = append(vs, apierr.FieldViolation{Field: prefix + "title", Description: msg})
	}
	if msg := checkText(r.Body, MaxBodyRunes); msg != "" {
		vs = append(vs, apierr.FieldViolation{Field: prefix + "body", Description: msg})
	} else if err := Check(r.Body); err != nil {
		vs = append(vs, apierr.FieldViolation{Field: prefix + "body", Description: err.Error()})
	}
	if len(vs) > 0 {
		return Response{}, apierr.InvalidFields(vs...)
	}
	return r, nil
}

func checkText(s string, maxRunes int) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case utf8.RuneCountInString(s) > maxRunes:
		return fmt.Sprintf("is longer than %d characters", maxRunes)
	case strings.TrimSpace(s) == "":
		return "is required"
	}
	return ""
}

// Check reports the first problem of a body: a "{{" without its "}}", or a variable not in Variables.
// Spaces inside the braces are allowed ({{ subject }}).
func Check(body string) error {
	_, err := scan(body, func(string) string { return "" })
	return err
}

// Render fills body's variables from vars (a variable without a value becomes empty). Bodies are checked
// on save, so an error here means a body stored before a check existed: it is rendered as far as it goes.
func Render(body string, vars map[string]string) string {
	out, _ := scan(body, func(name string) string { return vars[name] })
	return out
}

func scan(body string, value func(string) string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(body, "{{")
		if i < 0 {
			b.WriteString(body)
			return b.String(), nil
		}
		b.WriteString(body[:i])
		j := strings.Index(body[i+2:], "}}")
		if j < 0 {
			b.WriteString(body[i:])
			return b.String(), fmt.Errorf("has a {{ without a closing }}")
		}
		name := strings.TrimSpace(body[i+2 : i+2+j])
		if !slices.Contains(Variables, name) {
			b.WriteString(body[i:])
			return b.String(), fmt.Errorf("uses the unknown variable {{%s}}: use %s", name, strings.Join(wrapped(), " or "))
		}
		b.WriteString(value(name))
		body = body[i+2+j+2:]
	}
}

func wrapped() []string {
	out := make([]string, len(Variables))
	for i, v := range Variables {
		out[i] = "{{" + v + "}}"
	}
	return out
}
