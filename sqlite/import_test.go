package sqlite

import (
	"path/filepath"
	"testing"
)

func TestAnImportLeavesTheWriterItsOwnCacheSize(t *testing.T) {
	// ImportTasks raises the writer's page cache for the load and must put
	// back the size Open gave it, not SQLite's default.
	s, err := Open(filepath.Join(t.TempDir(), "import.db"), SyncNormal)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	org, err := s.Organisation(t.Context(), "Imported")
	if err != nil {
		t.Fatalf("Organisation: %v", err)
	}
	importSeed(t, s, org, 1, 50)
	var kib int
	if err := s.write.QueryRow("PRAGMA cache_size").Scan(&kib); err != nil {
		t.Fatalf("PRAGMA cache_size: %v", err)
	}
	if kib != -writerCacheKiB {
		t.Errorf("after an import the writer's cache_size = %d, want %d", kib, -writerCacheKiB)
	}
}
