package postgres

import (
	"strings"
	"unicode"
)

// Search is a case-insensitive substring of the title: the folded term in
// title_fold. It is found one of two ways, with the same results:
//
//   - through the trigram index: title_fold LIKE '%term%', with the term's
//     %, _ and \ escaped, which the GIN index over title_fold answers;
//   - by walking the list's sort order and testing each title with
//     strpos, which no index can answer, until the page is full.
//
// Walking reads about rowsNeeded × all/matches rows; the index reads every
// match and sorts them. So the index wins when matches are rare, matches²
// < rowsNeeded × all (a page of ten of a million tasks: fewer than about
// 3,000 matches). A term found thousands of times in a million titles
// walked in 0.7 ms, where the index took 28 ms (reading the posting lists
// of common trigrams, then every match); a term found nowhere is the
// reverse. The counts come from the kept totals (count.go); without one,
// PostgreSQL's planner chooses, from its statistics of title_fold.
//
// The index serves only organisations of more than walkAlways tasks.
//
// A term without three letters or digits in a row has no trigram the
// index can look up (pg_trgm takes trigrams of words only), so it always
// walks.

// searchPath is how a search finds its tasks.
type searchPath int

const (
	searchPlanned searchPath = iota // LIKE: the planner chooses
	searchWalk                      // strpos along the sort order
)

// choosePath is the way a search of term finds rowsNeeded tasks, given
// what is known of how many tasks match (matches of all; all is 0 when
// nothing is known).
func choosePath(term string, matches, all, rowsNeeded int) searchPath {
	if !indexable(term) {
		return searchWalk
	}
	if all == 0 {
		return searchPlanned
	}
	if all > walkAlways && matches*matches < rowsNeeded*all {
		return searchPlanned
	}
	return searchWalk
}

// walkAlways is the number of tasks up to which an organisation's searches
// always walk. The trigram index holds every organisation's titles, so its
// cost follows the term's matches in all of them: beside an organisation
// of a million tasks, a term found 63 times in one of 10,000 took 34 ms
// through the index, where walking all 10,000 takes about 3.
const walkAlways = 20_000

// indexable reports whether the trigram index can serve a search for
// term: three letters or digits in a row.
func indexable(term string) bool {
	run := 0
	for _, r := range term {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run == 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// searchCondition is the condition "title_fold holds the folded term",
// by path, binding the term in a. PostgreSQL text cannot hold NUL, so no
// title holds a term with one.
func searchCondition(term string, path searchPath, a *args) string {
	if strings.ContainsRune(term, 0) {
		return "false"
	}
	if path == searchWalk {
		return "strpos(title_fold, " + a.add(term) + ") > 0"
	}
	return "title_fold LIKE " + a.add("%"+likeEscaper.Replace(term)+"%") + ` ESCAPE '\'`
}

// likeEscaper makes every character of a term literal in a LIKE pattern.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
