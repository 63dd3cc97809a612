// Package outfile writes every file rtbench saves (results, HTML pages,
// JUnit reports, completions) without destroying what is at the path.
//
// The rules, the same for every output:
//
//   - A regular file, or nothing: the bytes go to a temporary file in the
//     same directory, which is synced and renamed over the path, so the path
//     never holds half a file. An existing file keeps its permission bits
//     (and, where rtbench may, its owner); a new file gets 0644.
//   - Anything else that accepts writes (a character or block device, a
//     FIFO): the bytes are written through it, opened for writing without
//     creating or truncating, and it is never renamed over or replaced. A
//     FIFO blocks until a reader opens it, as a shell redirection does.
//   - A symbolic link is followed, through every hop, and the rules apply to
//     its target; the link itself stays a link. A dangling link creates its
//     target.
//   - A directory or a socket is an error.
//
// Check answers, before any work is done, whether Write could succeed, so a
// command can refuse a bad path in a second instead of after a long run.
package outfile
