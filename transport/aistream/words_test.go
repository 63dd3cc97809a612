package aistream

import "testing"

func TestVocab(t *testing.T) {
	if len(vocab) < 200 {
		t.Errorf("vocabulary has %d words, want a few hundred", len(vocab))
	}
	seen := map[string]bool{}
	for _, w := range vocab {
		if seen[w] {
			t.Errorf("%q appears twice", w)
		}
		seen[w] = true
		for i := 0; i < len(w); i++ {
			if w[i] < 'a' || w[i] > 'z' {
				t.Errorf("%q: want lower-case ASCII letters only", w)
				break
			}
		}
	}
}
