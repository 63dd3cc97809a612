package poll_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/rtbench/rtbench/transport/poll"
)

// The job status polling pattern: create a job, then poll its Location.
func Example() {
	h := &poll.Handler{Jobs: poll.JobOptions{Queued: -1, Duration: -1}} // jobs complete at once
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/api/jobs", "application/json", strings.NewReader(`{"steps":4}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.HasPrefix(resp.Header.Get("Location"), "/api/jobs/job_"))

	resp, err = http.Get(srv.URL + resp.Header.Get("Location") + "?wait=30s")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var job struct {
		Status   string          `json:"status"`
		Progress int             `json:"progress"`
		Result   json.RawMessage `json:"result"`
	}
	json.NewDecoder(resp.Body).Decode(&job)
	fmt.Println(resp.StatusCode, resp.Header.Get("ETag"), job.Status, job.Progress, string(job.Result))
	// Output:
	// 201 true
	// 200 "completed-100" completed 100 {"queued_ms":0,"duration_ms":0,"steps":4}
}
