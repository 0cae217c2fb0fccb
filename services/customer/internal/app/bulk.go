package app

import (
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// NewRow turns c, a new record as CreateCustomer takes it, into the row Create would store: validated,
// with ids, times and defaults filled as Create fills them, at version 1 (what Create's
// kefu.customer.created raises it to), sealed under a fresh data key and indexed by the same codec. It
// writes and publishes nothing: it is how bulk loads of benchmark data sets (store.CopyRows) make rows
// that every read path serves exactly like created ones.
func (a *App) NewRow(c customer.Customer) (*store.Row, error) {
	if err := c.Validate("customer."); err != nil {
		return nil, err
	}
	now := a.now()
	if err := a.prepareNew(&c, now); err != nil {
		return nil, err
	}
	c.Version = 1
	return a.codec.encode(&c, nil, a.newDataKey)
}
