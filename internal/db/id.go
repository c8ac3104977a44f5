package db

import "github.com/google/uuid"

// NewID returns a new record id: a UUIDv7 string, so ids sort by creation
// time and serve as stable pagination cursors. Clients treat ids as opaque.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
