package message

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Templates use a small subset of mustache, enough for messages and simple to check before it is saved:
//
//	{{name}}             the value of name, or nothing when it is missing
//	{{#name}}…{{/name}}  the text inside only when name is not empty
//	{{^name}}…{{/name}}  the text inside only when name is empty
//
// White space inside the braces is ignored ({{ ticket_number }}). Sections do not nest, which keeps the
// checker and renderer trivial; a template needing more should be split into kinds instead. Values are
// inserted as they are, once: a value containing "{{" (a customer's own text) is not expanded again, and
// nothing is HTML-escaped, because bodies are plain text (an e-mail adapter escapes for HTML itself).

// ErrInvalidTemplate is wrapped by every error Check returns.
var ErrInvalidTemplate = errors.New("invalid template")

type tokenKind int

const (
	tokText tokenKind = iota
	tokVar
	tokOpen   // {{#name}}
	tokInvert // {{^name}}
	tokClose  // {{/name}}
)

type token struct {
	kind tokenKind
	text string // the literal text, or the tag's name
}

// tag returns the token as written in canonical form, for error messages.
func (t token) tag() string {
	sigil := ""
	switch t.kind {
	case tokOpen:
		sigil = "#"
	case tokInvert:
		sigil = "^"
	case tokClose:
		sigil = "/"
	}
	return "{{" + sigil + t.text + "}}"
}

// lex splits body into text and tags. It always returns every token, so Render can work on any body; an
// unterminated "{{" is kept as text. The error is the first lexical problem, for Check.
func lex(body string) ([]token, error) {
	var toks []token
	var first error
	for body != "" {
		i := strings.Index(body, "{{")
		if i < 0 {
			toks = append(toks, token{kind: tokText, text: body})
			break
		}
		if i > 0 {
			toks = append(toks, token{kind: tokText, text: body[:i]})
		}
		j := strings.Index(body[i+2:], "}}")
		if j < 0 {
			if first == nil {
				first = fmt.Errorf("%w: %q has no closing }}", ErrInvalidTemplate, excerpt(body[i:]))
			}
			toks = append(toks, token{kind: tokText, text: body[i:]})
			break
		}
		inner := strings.TrimSpace(body[i+2 : i+2+j])
		body = body[i+2+j+2:]
		t := token{kind: tokVar}
		if inner != "" {
			switch inner[0] {
			case '#':
				t.kind = tokOpen
			case '^':
				t.kind = tokInvert
			case '/':
				t.kind = tokClose
			}
			if t.kind != tokVar {
				inner = strings.TrimSpace(inner[1:])
			}
		}
		t.text = inner
		if inner == "" && first == nil {
			first = fmt.Errorf("%w: empty tag %s", ErrInvalidTemplate, t.tag())
		}
		toks = append(toks, t)
	}
	return toks, first
}

func excerpt(s string) string {
	const limit = 20
	if r := []rune(s); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	return s
}

// Render fills body's tags from vars (see the package's template syntax above). It never fails: a
// missing variable is empty, and a body Check would reject still renders to something, without its tags,
// though not necessarily to what its author meant. Check templates when they are saved.
func Render(body string, vars map[string]string) string {
	toks, _ := lex(body)
	var b strings.Builder
	b.Grow(len(body))
	show := true // false inside a section whose condition does not hold
	for _, t := range toks {
		switch t.kind {
		case tokText:
			if show {
				b.WriteString(t.text)
			}
		case tokVar:
			if show {
				b.WriteString(vars[t.text])
			}
		case tokOpen:
			show = vars[t.text] != ""
		case tokInvert:
			show = vars[t.text] == ""
		case tokClose:
			show = true
		}
	}
	return b.String()
}

// Check reports the first problem in body, wrapped around ErrInvalidTemplate: a tag whose name is not in
// allowed (message "unknown variable {{agent}}; allowed: ticket_number, ..."), an empty or unterminated
// tag, a section opened inside another, closed under another name, closed without being opened or never
// closed.
func Check(body string, allowed []string) error {
	toks, err := lex(body)
	if err != nil {
		return err
	}
	var open *token
	for _, t := range toks {
		if t.kind == tokText {
			continue
		}
		if !slices.Contains(allowed, t.text) {
			list := "none"
			if len(allowed) > 0 {
				list = strings.Join(allowed, ", ")
			}
			return fmt.Errorf("%w: unknown variable {{%s}}; allowed: %s", ErrInvalidTemplate, t.text, list)
		}
		switch t.kind {
		case tokOpen, tokInvert:
			if open != nil {
				return fmt.Errorf("%w: section %s opened inside section %s; sections do not nest",
					ErrInvalidTemplate, t.tag(), open.tag())
			}
			open = &t
		case tokClose:
			switch {
			case open == nil:
				return fmt.Errorf("%w: %s closes no open section", ErrInvalidTemplate, t.tag())
			case open.text != t.text:
				return fmt.Errorf("%w: %s closes section %s", ErrInvalidTemplate, t.tag(), open.tag())
			}
			open = nil
		}
	}
	if open != nil {
		return fmt.Errorf("%w: section %s is not closed", ErrInvalidTemplate, open.tag())
	}
	return nil
}
