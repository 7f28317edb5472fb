package core_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurity enforces the sans-IO contract (DESIGN §2) mechanically: no
// non-test file of core or its sub-packages (coretest excepted) may start a
// goroutine, import packages that reach the OS, the network or locks, or read
// the clock.
func TestPurity(t *testing.T) {
	bannedImports := map[string]bool{
		"net": true, "os": true, "sync": true, "syscall": true, "net/http": true,
		"os/exec": true, "os/signal": true, "sync/atomic": true, "unsafe": true,
		"math/rand": true, "math/rand/v2": true, "log": true,
	}
	bannedPrefixes := []string{"crypto/", "net/", "os/", "sync/", "github.com/h2proto/h2/transport", "github.com/h2proto/h2/adapters"}
	bannedTimeCalls := map[string]bool{
		"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "NewTimer": true, "NewTicker": true, "Tick": true,
	}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "coretest" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		checked++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		timeName := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if bannedImports[p] {
				t.Errorf("%s imports %q", path, p)
			}
			for _, pre := range bannedPrefixes {
				if strings.HasPrefix(p, pre) {
					t.Errorf("%s imports %q", path, p)
				}
			}
			if p == "time" {
				timeName = "time"
				if imp.Name != nil {
					timeName = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: go statement at offset %d", path, n.Pos())
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && bannedTimeCalls[n.Sel.Name] {
					t.Errorf("%s: uses time.%s", path, n.Sel.Name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("checked only %d files: is the test running in core/?", checked)
	}
}
