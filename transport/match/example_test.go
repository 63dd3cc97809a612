package match_test

import (
	"errors"
	"fmt"

	"github.com/rtbench/rtbench/transport/match"
)

func Example() {
	until, err := match.Parse("status==completed && progress>=100")
	if err != nil {
		panic(err)
	}
	fmt.Println(until)
	fmt.Println(until.Match([]byte(`{"status":"running","progress":40}`)))
	fmt.Println(until.Match([]byte(`{"status":"completed","progress":100}`)))

	_, err = match.Parse("status=completed")
	if se, ok := errors.AsType[*match.SyntaxError](err); ok {
		se.Flag = "--until"
	}
	fmt.Println(err)
	// Output:
	// status == "completed" && progress >= 100
	// false
	// true
	// bad --until "status=completed": at 6: want an operator (==, !=, <, <=, >, >=, =~)
}
