package transport

// Tee fans observations out to several observers, in order.
type Tee []Observer

func (t Tee) Connected(c *Connect) {
	for _, o := range t {
		o.Connected(c)
	}
}

func (t Tee) Event(e *Event) {
	for _, o := range t {
		o.Event(e)
	}
}

func (t Tee) Exchange(x *Exchange) {
	for _, o := range t {
		o.Exchange(x)
	}
}

func (t Tee) Error(e *Error) {
	for _, o := range t {
		o.Error(e)
	}
}

func (t Tee) Closed(c *Close) {
	for _, o := range t {
		o.Closed(c)
	}
}
