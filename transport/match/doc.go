// Package match is the small expression language of `rtbench listen --until`
// and `rtbench check --expect`: a condition on a JSON document, parsed once
// and then matched against every event or response.
//
// # Grammar
//
//	expr  = cond { "&&" cond }              all conditions must hold
//	cond  = path [ op value ]               a path alone: it exists and is truthy
//	path  = seg { "." name | "[" index "]" | "[" string "]" }
//	seg   = name | "[" index "]" | "[" string "]"
//	name  = letters, digits, "_", "-", "$", "@"
//	index = a non-negative integer (an array element)
//	op    = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=~"
//	value = number | string | "true" | "false" | "null" | bareword
//
// Whitespace is allowed between tokens, not inside a path. A string is a JSON
// string literal ("in progress", "caf\u00e9"); a bare word (completed, v1.2,
// ok:true) is a string too, so status==completed needs no quotes. A bare word
// that starts like a number (a digit or "-") must be a JSON number: quote
// "1.2.3" to compare it as a string. ["key"] reaches keys that are not names
// (headers["content-type"]).
//
// # Meaning
//
//   - Numbers compare numerically (1 == 1.0; integers that fit 64 bits are
//     compared exactly); == and != also compare strings, booleans and null,
//     and values of different types are never equal.
//   - <, <=, > and >= take a number and hold only when the field is a number.
//   - =~ takes a regular expression (Go syntax, RE2) and holds when the field
//     is a string it matches anywhere; anchor it with ^ and $.
//   - A condition on a path the document does not have never holds, whatever
//     its operator: x != null means "x exists and is not null".
//   - A path alone holds when the field exists and is not null, false, 0 or
//     "" (arrays and objects, even empty, are truthy).
//   - A document that is not valid JSON matches nothing.
//
// # Examples
//
//	status==completed
//	status == "completed" && progress >= 100
//	data.progress > 50
//	choices[0].delta.content =~ "^Hello"
//	[0].id == 7
//	result                              result exists and is truthy
//	headers["Content Type"] =~ json     a key that is not a name
//
// Errors quote the input and give the byte offset of the problem:
//
//	bad expression "status=completed": at 6: want an operator (==, !=, <, <=, >, >=, =~)
//
// The caller names the flag through SyntaxError.Flag ("bad --until …").
package match
