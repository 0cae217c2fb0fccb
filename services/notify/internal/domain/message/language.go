package message

import "unicode"

// Languages a message can be written in. They are BCP 47 tags because adapters and templates use them.
const (
	LangZh = "zh-CN"
	LangEn = "en"
)

// Language guesses the language to answer text in: LangZh when it contains any Han character (a Chinese
// message with English product names is still Chinese), LangEn when it has Latin letters and no Han, and
// fallback otherwise (digits, emoji, empty text).
func Language(text, fallback string) string {
	latin := false
	for _, r := range text {
		if unicode.Is(unicode.Han, r) {
			return LangZh
		}
		if !latin && unicode.IsLetter(r) && unicode.Is(unicode.Latin, r) {
			latin = true
		}
	}
	if latin {
		return LangEn
	}
	return fallback
}
