package pusher

import (
	"fmt"
	"strings"
)

// App is one Pusher Channels application: its ID (in REST paths), its key
// (public: in WebSocket URLs and auth strings) and its secret (signs REST
// requests and channel authorisations; never printed).
type App struct {
	ID, Key, Secret string
}

// DefaultApp is the app `rtbench serve` accepts when --pusher-app is not
// given: documented, so local clients can be configured without looking it
// up. It is for local use only.
var DefaultApp = App{ID: "rtbench", Key: "rtbench-key", Secret: "rtbench-secret"}

// String is the app without its secret.
func (a App) String() string { return "app " + a.ID + " (key " + a.Key + ")" }

// ParseApp reads "id:key:secret", the form of serve's --pusher-app.
func ParseApp(s string) (App, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return App{}, fmt.Errorf("want ID:KEY:SECRET, three non-empty fields separated by colons (the default is %s:%s:%s)", DefaultApp.ID, DefaultApp.Key, DefaultApp.Secret)
	}
	for i, p := range parts[:2] {
		if !validToken(p) {
			return App{}, fmt.Errorf("the %s %q holds a character other than A-Z a-z 0-9 _ - .", []string{"app ID", "key"}[i], p)
		}
	}
	return App{ID: parts[0], Key: parts[1], Secret: parts[2]}, nil
}

func validToken(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
