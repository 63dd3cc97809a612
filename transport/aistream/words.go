package aistream

// vocab is the fixed word list the generator draws from: plain lower-case
// ASCII, so a token never needs JSON escaping and its byte length is its
// character count. Changing it changes every generated text (and the golden
// files), so append rather than edit.
var vocab = [...]string{
	"the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
	"was", "with", "be", "by", "on", "not", "he", "this", "are", "or",
	"his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
	"were", "their", "one", "all", "we", "can", "her", "has", "there", "been",
	"if", "more", "when", "will", "would", "who", "so", "no", "she", "other",
	"its", "may", "these", "what", "them", "than", "some", "him", "time", "into",
	"only", "do", "could", "new", "about", "two", "then", "first", "also", "any",
	"like", "our", "over", "such", "my", "most", "after", "made", "me", "many",
	"must", "before", "did", "through", "years", "where", "much", "your", "way", "well",
	"down", "should", "because", "each", "just", "those", "people", "how", "too", "little",
	"state", "good", "very", "make", "world", "still", "own", "see", "men", "work",
	"long", "get", "here", "between", "both", "life", "being", "under", "never", "day",
	"same", "another", "know", "while", "last", "might", "us", "great", "old", "year",
	"off", "come", "since", "against", "go", "came", "right", "used", "take", "three",
	"small", "large", "system", "number", "water", "light", "signal", "stream", "token", "server",
	"client", "request", "response", "message", "event", "channel", "socket", "packet", "buffer", "queue",
	"latency", "throughput", "network", "protocol", "model", "answer", "question", "example", "result", "value",
	"order", "point", "part", "place", "case", "group", "problem", "fact", "hand", "home",
	"power", "line", "end", "side", "kind", "head", "house", "service", "friend", "hour",
	"game", "morning", "night", "river", "mountain", "city", "country", "road", "window", "door",
	"table", "paper", "story", "music", "picture", "garden", "forest", "ocean", "island", "bridge",
	"engine", "clock", "timer", "pattern", "surface", "reason", "method", "theory", "record", "history",
	"simple", "quiet", "bright", "early", "later", "clear", "careful", "steady", "rapid", "gentle",
	"strong", "open", "closed", "final", "common", "useful", "certain", "possible", "real", "whole",
	"short", "high", "low", "best", "better", "next", "late", "free", "full", "easy",
	"say", "said", "think", "look", "find", "give", "tell", "ask", "seem", "feel",
	"try", "leave", "call", "keep", "begin", "show", "hear", "play", "run", "move",
	"live", "believe", "bring", "happen", "write", "provide", "sit", "stand", "lose", "pay",
	"meet", "include", "continue", "set", "learn", "change", "lead", "understand", "watch", "follow",
	"stop", "create", "speak", "read", "allow", "add", "spend", "grow", "offer", "remember",
	"consider", "appear", "buy", "wait", "serve", "send", "expect", "build", "stay", "fall",
	"reach", "remain", "suggest", "raise", "pass", "sell", "require", "report", "decide", "pull",
	"always", "often", "sometimes", "usually", "again", "almost", "already", "perhaps", "quickly", "slowly",
	"together", "nearly", "rather", "quite", "soon", "today", "tomorrow", "above", "below", "around",
}
