// Package search is the knowledge base's text analysis, in plain Go: it turns Chinese and English text into
// the terms an article is indexed under and a query is matched with, renders them as Postgres tsvector and
// tsquery literals, plans which terms select candidates, and cuts highlighted snippets.
//
// Debian's Postgres has no Chinese parser, and Chinese has no spaces between words, so Postgres never splits
// text here: Tokens folds every character (NFKC, lower case: full-width "ＡＢＣ１" is "abc1"), then turns
// each run of Latin letters and digits into one word (English stop words dropped, plurals stemmed) and each
// run of Han or kana characters into its overlapping bigrams ("退款多久到账" → 退款 款多 多久 久到 到账; a
// lone character stays one term). A bigram index needs no dictionary and finds every two-character word;
// what it cannot do is tell a real word from the junk bigram across two words (款多), which the planner's
// document frequencies and the ranking's proximity make harmless. Chars adds single characters, which the
// index keeps for titles only, so a one-character query and a title sharing single characters with the
// query still rank.
//
// The package imports no database, transport or generated code (a test checks); the store passes the
// literals it renders as query parameters.
package search
