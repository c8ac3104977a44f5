// Package db opens sitroom's store — embedded SQLite (the default) or
// PostgreSQL — and owns every difference between the two engines: DSNs and
// pragmas, connection pools, placeholders, error codes, migrations and
// backups. Domain packages write plain SQL with `?` placeholders and the
// subset both engines share (ON CONFLICT upserts, RETURNING, TRUE/FALSE);
// nothing outside this package may branch on the engine.
//
// SQLite keeps two pools on one file, as PocketBase does: one connection for
// writes, so writers queue in Go rather than fight over the file lock, and a
// pool of readers. synchronous=FULL: in WAL mode NORMAL does not fsync at
// commit, and an acknowledged alert must survive a power cut.
package db
