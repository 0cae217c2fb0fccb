package search

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PlainText returns the readable text of a Markdown body: what is indexed and what snippets are cut from,
// so link targets, image addresses, markup and HTML tags neither match queries nor show in snippets. It is
// a reading of the common syntax (headings, quotes, lists, emphasis, code, links, images, tables, inline
// HTML, escapes, entities), not a full CommonMark parser: odd constructs come through as text. Lines are
// joined with one space; runs of white space become one space.
func PlainText(md string) string {
	var b strings.Builder
	b.Grow(len(md))
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || isFence(line) || isRule(line) || isTableRule(line) {
			continue
		}
		line = stripBlockMarkers(line)
		line = inline(line)
		if line = strings.TrimSpace(line); line != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(line)
		}
	}
	out := b.String()
	if strings.IndexByte(out, '&') >= 0 {
		out = html.UnescapeString(out)
	}
	return collapseSpace(out)
}

func isFence(l string) bool { return strings.HasPrefix(l, "```") || strings.HasPrefix(l, "~~~") }

// isRule reports a thematic break: three or more of one of - * _ and nothing else but spaces.
func isRule(l string) bool {
	c := l[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	n := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case c:
			n++
		case ' ':
		default:
			return false
		}
	}
	return n >= 3
}

// isTableRule reports a table's header separator (| --- | :---: |).
func isTableRule(l string) bool {
	if !strings.Contains(l, "-") || !strings.Contains(l, "|") {
		return false
	}
	return strings.Trim(l, "|-: ") == ""
}

// stripBlockMarkers removes a line's heading, quote and list markers.
func stripBlockMarkers(l string) string {
	for {
		switch {
		case strings.HasPrefix(l, ">"):
			l = strings.TrimSpace(l[1:])
			continue
		case strings.HasPrefix(l, "#"):
			t := strings.TrimLeft(l, "#")
			if t == "" || t[0] == ' ' {
				l = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(t), "#"))
				continue
			}
		case len(l) > 1 && (l[0] == '-' || l[0] == '*' || l[0] == '+') && l[1] == ' ':
			l = strings.TrimSpace(l[2:])
			if strings.HasPrefix(l, "[ ] ") || strings.HasPrefix(l, "[x] ") || strings.HasPrefix(l, "[X] ") {
				l = l[4:]
			}
			continue
		default:
			if i := strings.IndexFunc(l, func(r rune) bool { return r < '0' || r > '9' }); i > 0 && i < 10 &&
				i+1 < len(l) && (l[i] == '.' || l[i] == ')') && l[i+1] == ' ' {
				l = strings.TrimSpace(l[i+2:])
				continue
			}
		}
		return l
	}
}

// inline removes inline markup: images and links keep their text, autolinks their address, HTML tags go,
// emphasis and code markers go, backslash escapes keep the escaped character, table pipes become spaces.
func inline(l string) string {
	var b strings.Builder
	b.Grow(len(l))
	for i := 0; i < len(l); {
		c := l[i]
		switch {
		case c == '\\' && i+1 < len(l) && isASCIIPunct(l[i+1]):
			b.WriteByte(l[i+1])
			i += 2
		case c == '!' && i+1 < len(l) && l[i+1] == '[':
			if text, n, ok := link(l[i+1:]); ok {
				b.WriteString(inline(text))
				i += 1 + n
				continue
			}
			b.WriteByte(c)
			i++
		case c == '[':
			if text, n, ok := link(l[i:]); ok {
				b.WriteString(inline(text))
				i += n
				continue
			}
			b.WriteByte(c)
			i++
		case c == '<':
			if j := strings.IndexByte(l[i:], '>'); j > 1 {
				tag := l[i+1 : i+j]
				if strings.HasPrefix(tag, "http://") || strings.HasPrefix(tag, "https://") || strings.HasPrefix(tag, "mailto:") {
					b.WriteString(tag)
				} else if !isTag(tag) {
					b.WriteString(l[i : i+j+1])
				} else {
					b.WriteByte(' ')
				}
				i += j + 1
				continue
			}
			b.WriteByte(c)
			i++
		case c == '*' || c == '`' || c == '~':
			i++
		case c == '_' && (i == 0 || i+1 == len(l) || !wordByte(l, i-1) || !wordByte(l, i+1)):
			// Emphasis underscores stand at a word's edge; snake_case keeps its own.
			i++
		case c == '|':
			b.WriteByte(' ')
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// link reads "[text](target)" or "[text][ref]" at the start of s and returns the text and the bytes read.
func link(s string) (string, int, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '[':
			depth++
		case ']':
			depth--
			if depth > 0 {
				continue
			}
			text := s[1:i]
			rest := s[i+1:]
			if strings.HasPrefix(rest, "(") {
				if j := strings.IndexByte(rest, ')'); j >= 0 {
					return text, i + 1 + j + 1, true
				}
			}
			if strings.HasPrefix(rest, "[") {
				if j := strings.IndexByte(rest, ']'); j >= 0 {
					return text, i + 1 + j + 1, true
				}
			}
			return "", 0, false
		}
	}
	return "", 0, false
}

// isTag reports an HTML tag's inside ("b", "/p", "br /", "a href=...", "!-- x --").
func isTag(s string) bool {
	s = strings.TrimPrefix(s, "/")
	if strings.HasPrefix(s, "!--") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(s)
	if r >= utf8.RuneSelf || !unicode.IsLetter(r) {
		return false
	}
	name := s
	if i := strings.IndexAny(s, " /\t"); i >= 0 {
		name = s[:i]
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func wordByte(s string, i int) bool {
	c := s[i]
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= utf8.RuneSelf
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// collapseSpace turns every run of white space into one space and trims both ends. It copies runs of
// other bytes whole (this runs on every search hit's body).
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		size := 1
		isSpace := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			isSpace = unicode.IsSpace(r)
		}
		if isSpace {
			space = true
			i += size
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}
