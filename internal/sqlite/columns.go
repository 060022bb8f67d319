package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

//go:embed columns.sql
var columnsSchema string

// addColumn is an ALTER TABLE … ADD COLUMN of columns.sql.
var addColumn = regexp.MustCompile(`(?i)^ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(\w+)\s`)

// addColumns runs columns.sql on db: each column a table lacks is added,
// with the statements that follow it, in one transaction, so that of two
// processes opening one database the second finds the first's columns.
func addColumns(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	added := false // whether the last ALTER TABLE ran
	for _, stmt := range statements(columnsSchema) {
		m := addColumn.FindStringSubmatch(stmt)
		if m == nil {
			if added {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("fill new column: %w", err)
				}
			}
			continue
		}
		table, column := m[1], m[2]
		var has bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pragma_table_info(?) WHERE name = ?)`,
			table, column).Scan(&has); err != nil {
			return fmt.Errorf("read columns of %s: %w", table, err)
		}
		if added = !has; added {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("add column %s.%s: %w", table, column, err)
			}
		}
	}
	return tx.Commit()
}

// statements splits a schema file at each semicolon that ends a line,
// leaving out comment lines.
func statements(schema string) []string {
	var out []string
	var b strings.Builder
	for line := range strings.Lines(schema) {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			if s := strings.TrimSpace(b.String()); s != ";" {
				out = append(out, s)
			}
			b.Reset()
		}
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		out = append(out, s)
	}
	return out
}
