package match

import "testing"

func TestMatch(t *testing.T) {
	job := `{"id":"job_1","status":"completed","progress":100,"result":{"ok":true,"items":[1,2,{"n":"x"}]},"err":null,"ratio":0.5}`
	chunk := `{"choices":[{"delta":{"content":"Hello, world"},"finish_reason":null}]}`
	tests := []struct {
		expr, doc string
		want      bool
	}{
		{"status==completed", job, true},
		{"status==running", job, false},
		{`status=="completed"`, job, true},
		{"status!=running", job, true},
		{"status!=completed", job, false},
		{"progress==100", job, true},
		{"progress==100.0", job, true},
		{"progress==1e2", job, true},
		{"progress>=100", job, true},
		{"progress>99.5", job, true},
		{"progress<100", job, false},
		{"progress<=100 && status==completed", job, true},
		{"progress<=100 && status==queued", job, false},
		{"ratio<1", job, true},
		{"ratio>=0.5", job, true},
		{"ratio==0.5", job, true},
		{`progress=="100"`, job, false},     // a number is not a string
		{"status>1", job, false},            // a string is not a number
		{"result.ok==true", job, true},      // nested
		{"result.ok", job, true},            // truthy
		{"result.items[2].n==x", job, true}, // index then key
		{"result.items[1]==2", job, true},   //
		{"result.items[3]", job, false},     // out of range
		{"result.items.n", job, false},      // a key on an array
		{"result.ok[0]", job, false},        // an index on a literal
		{"err==null", job, true},            //
		{"err", job, false},                 // null is falsy
		{"err!=null", job, false},           //
		{"missing!=null", job, false},       // a missing path never holds
		{"missing!=x", job, false},          //
		{"missing", job, false},             //
		{"result", job, true},               // an object is truthy
		{"choices[0].delta.content=~^Hello", chunk, true},
		{"choices[0].delta.content=~^world", chunk, false},
		{"choices[0].finish_reason==null", chunk, true},
		{"choices[0].delta.content=~world$", chunk, true},
		{"choices=~x", chunk, false}, // =~ on an array
		{"[1]==b", `["a","b"]`, true},
		{"[1]==b", `{"1":"b"}`, false},
		{"a.1==b", `{"a":{"1":"b"}}`, true},
		{"a==1", `{"a":1,"a":2}`, false}, // the last duplicate wins
		{"a==2", `{"a":1,"a":2}`, true},
		{"a==x", "not json", false},
		{"a==x", `{"a":"x"`, false},
		{"a==x", ``, false},
		{`k=="é\"q"`, `{"k":"\u00e9\"q"}`, true}, // escapes decoded
		{`["a\"b"]==1`, `{"a\"b":1}`, true},
		{`["é"]==1`, `{"\u00e9":1}`, true},
		{"s", `{"s":""}`, false},
		{"s", `{"s":"0"}`, true},
		{"n", `{"n":0}`, false},
		{"n", `{"n":-0.0}`, false},
		{"n", `{"n":0.1}`, true},
		{"b", `{"b":false}`, false},
		{"b", `{"b":true}`, true},
		{"e", `{"e":[]}`, true},
		{"big==9223372036854775807", `{"big":9223372036854775807}`, true},
		{"big==9223372036854775806", `{"big":9223372036854775807}`, false}, // exact, not float64
		{"big<-9223372036854775807", `{"big":-9223372036854775808}`, true},
		{"huge>1e300", `{"huge":1e999}`, true},
		{"seq>5", ` { "seq" : 7 , "x" : [ { "seq" : 1 } ] } `, true},
		{"x[0].seq==1", ` { "seq" : 7 , "x" : [ { "seq" : 1 } ] } `, true},
		{"a.b==\"}\"", `{"a":{"s":"]}\"{","b":"}"}}`, true}, // brackets inside strings
	}
	for _, tt := range tests {
		t.Run(tt.expr+" "+tt.doc, func(t *testing.T) {
			e, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Match([]byte(tt.doc)); got != tt.want {
				t.Fatalf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under -race")
	}
	e := MustParse("status==completed && progress>=100 && result.items[1]==2 && id=~^job_")
	doc := []byte(`{"id":"job_1","status":"completed","progress":100,"result":{"items":[1,2]}}`)
	if n := testing.AllocsPerRun(100, func() {
		if !e.Match(doc) {
			t.Fatal("no match")
		}
	}); n != 0 {
		t.Fatalf("Match allocates %v times, want 0", n)
	}
}

func BenchmarkMatch(b *testing.B) {
	e := MustParse("status==completed && progress>=100")
	doc := []byte(`{"id":"job_1","status":"completed","progress":100,"created_at":"2025-01-01T00:00:00Z","result":{"queued_ms":0,"duration_ms":0,"steps":4}}`)
	b.ReportAllocs()
	for b.Loop() {
		e.Match(doc)
	}
}
