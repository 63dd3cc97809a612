package pusher_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rtbench/rtbench/transport/transporttest"
)

// TestOfficialPackages runs pusher-js 8 and the pusher server SDK 5
// (testdata/pusher, pinned by its lock file) against serve: trigger →
// subscribe on a public, a private and a presence channel, the presence
// member list, a client event between two members, channel queries and a
// wrong secret refused.
func TestOfficialPackages(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("the interop test needs Node.js (node on PATH): %v", err)
	}
	dir := filepath.Join("..", "..", "testdata", "pusher")
	modules := transporttest.NodeModules(t, dir)
	_, base := startServer(t)
	u, _ := url.Parse(base)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "interop.js"), u.Hostname(), u.Port(), testApp.ID, testApp.Key, testApp.Secret)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("interop.js: %v\n%s", err, stderr.String())
	}
	var got struct {
		SocketID        string            `json:"socket_id"`
		Public          map[string]string `json:"public-news"`
		Private         map[string]string `json:"private-room"`
		PresenceAlone   int               `json:"presence_alone"`
		PresenceMembers []string          `json:"presence_members"`
		PresenceMe      string            `json:"presence_me"`
		MemberAdded     string            `json:"member_added"`
		ClientEvent     map[string]string `json:"client_event"`
		ClientEventUser string            `json:"client_event_user"`
		PresenceTrigger []string          `json:"presence_trigger"`
		Users           []string          `json:"users"`
		ChannelInfo     map[string]any    `json:"channel_info"`
		WrongSecret     struct {
			Status int
			Body   string
		} `json:"wrong_secret"`
		MemberRemoved string `json:"member_removed"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("interop.js printed %s: %v", b, err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"public event", got.Public, map[string]string{"text": "hi public-news"}},
		{"private event", got.Private, map[string]string{"text": "hi private-room"}},
		{"presence count alone", got.PresenceAlone, 1},
		{"presence members", got.PresenceMembers, []string{"alice", "bob"}},
		{"presence me", got.PresenceMe, "bob"},
		{"member_added", got.MemberAdded, "bob"},
		{"client event", got.ClientEvent, map[string]string{"text": "yo bob"}},
		{"client event user_id", got.ClientEventUser, "alice"},
		{"presence trigger", got.PresenceTrigger, []string{"plain text", "plain text"}},
		{"users", got.Users, []string{"alice", "bob"}},
		{"channel info", got.ChannelInfo, map[string]any{"occupied": true, "subscription_count": 2.0, "user_count": 2.0}},
		{"wrong secret status", got.WrongSecret.Status, 401},
		{"member_removed", got.MemberRemoved, "bob"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
	if !strings.HasPrefix(got.WrongSecret.Body, "Invalid signature: you should have sent HmacSHA256Hex(") {
		t.Errorf("wrong secret body %q", got.WrongSecret.Body)
	}
	if !strings.Contains(got.SocketID, ".") {
		t.Errorf("socket_id %q", got.SocketID)
	}
}
