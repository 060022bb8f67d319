package app

import "time"

// SetRetention sets the clock that says which of l's campaigns have
// expired, and how often RunRetention deletes them. Call it before l runs.
func (l *Local) SetRetention(now func() time.Time, every time.Duration) {
	l.store.Now = now
	l.retentionEvery = every
}
