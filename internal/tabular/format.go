package tabular

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Format is a file format for tables.
type Format uint8

const (
	CSV Format = iota + 1
	JSONLines
	Parquet
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case JSONLines:
		return "jsonl"
	case Parquet:
		return "parquet"
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

const formatHint = "pass --format csv|jsonl|parquet"

// FormatFromPath picks the format of a table file: override (a --format value) when it
// is not empty, else the path's extension (.csv, .jsonl/.ndjson, .parquet/.pq).
func FormatFromPath(path string, override string) (Format, error) {
	if override != "" {
		switch strings.ToLower(strings.TrimSpace(override)) {
		case "csv":
			return CSV, nil
		case "jsonl", "jsonlines", "ndjson":
			return JSONLines, nil
		case "parquet", "pq":
			return Parquet, nil
		case "json":
			return 0, fmt.Errorf("format %q: JSON input must be JSON Lines (one JSON object per line); pass --format jsonl", override)
		}
		return 0, fmt.Errorf("unknown format %q: %s", override, formatHint)
	}
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".csv":
		return CSV, nil
	case ".jsonl", ".ndjson":
		return JSONLines, nil
	case ".parquet", ".pq":
		return Parquet, nil
	case ".json":
		return 0, fmt.Errorf("%s: .json is not supported; write one JSON object per line and name the file .jsonl, or %s", path, formatHint)
	case "":
		return 0, fmt.Errorf("%s: no file extension to tell the format by; %s", path, formatHint)
	}
	return 0, fmt.Errorf("%s: unknown file extension %q; %s", path, ext, formatHint)
}
