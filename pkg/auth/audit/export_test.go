package audit

// Pending reports how many records wait for the flusher, so a test can tell that a Write is queued
// without sleeping.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}
