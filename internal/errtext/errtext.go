// Package errtext owns how Weber puts an error's text in front of a user:
// on one line, whatever the driver or library that wrote it spread over
// several.
package errtext

import "strings"

// OneLine returns err's message on one line: line breaks and runs of white
// space become one space, and the ends are trimmed. A nil error gives "".
func OneLine(err error) string {
	if err == nil {
		return ""
	}
	return Flatten(err.Error())
}

// Flatten is OneLine for a message that is already text, such as a
// statement or a recorded error: line breaks and runs of white space become
// one space, and the ends are trimmed.
func Flatten(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
