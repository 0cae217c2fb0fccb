package search

import "unicode"

// Languages of articles.
const (
	LangZh = "zh-CN"
	LangEn = "en"
)

// DetectLanguage guesses the language of a customer's words: Chinese when Han characters make up a fair
// share of the letters (a Chinese sentence often carries an English product name, rarely the other way
// round), English when there are Latin letters only, "" when there are no letters at all.
func DetectLanguage(text string) string {
	han, latin := 0, 0
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Han, r):
			han++
		case unicode.IsLetter(r):
			latin++
		}
	}
	switch {
	case han > 0 && han*4 >= latin:
		return LangZh
	case latin > 0:
		return LangEn
	}
	return ""
}
