// Package transporttest holds what the protocol packages' tests share:
// a bounded Eventually helper for conditions that cannot be waited on
// through a channel, and (with the client side) the conformance suite every
// protocol runs.
package transporttest
