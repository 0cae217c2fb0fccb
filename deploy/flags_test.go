package deploy

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"kefu.dev/pkg/config"
)

// A service binary's configuration surface, read from the Go source rather than by running `--help`
// (building eight binaries would take minutes): the flags registered on the FlagSet that service.Main
// hands to cmd/<svc>/main.go, followed through every function the FlagSet is passed to (auth.BindFlags)
// and service.Main's own (--log-level). Each flag is read from the variable config.EnvName gives it, or
// from service.EnvOverrides' name (DATABASE_URL, NATS_URL).

// flagSpec is one flag of a binary.
type flagSpec struct {
	Name  string // --grpc-addr
	Env   string // KEFU_GRPC_ADDR
	Usage string
	// Secret is true when the flag's usage calls its value a secret: such a variable must come from a
	// Secret, never from a literal or a ConfigMap.
	Secret bool
}

// binary is the configuration surface of services/<svc>/cmd/<svc>.
type binary struct {
	Service string
	// ByEnv maps each variable the binary reads to its flag.
	ByEnv map[string]flagSpec
	// ByFlag maps flag names to the same.
	ByFlag map[string]flagSpec
}

// catalog holds every deployable service's binary, by service name.
type catalog map[string]binary

// deployableServices lists the services that have a binary of their own: services/<svc>/cmd/<svc>.
func deployableServices(root string) ([]string, error) {
	mains, err := filepath.Glob(filepath.Join(root, "services", "*", "cmd", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mains {
		cmdDir := filepath.Dir(m)
		svcDir := filepath.Dir(filepath.Dir(cmdDir))
		if filepath.Base(cmdDir) == filepath.Base(svcDir) {
			out = append(out, filepath.Base(svcDir))
		}
	}
	sort.Strings(out)
	return out, nil
}

// loadCatalog reads every deployable service's flags.
func loadCatalog(root string) (catalog, error) {
	svcs, err := deployableServices(root)
	if err != nil {
		return nil, err
	}
	if len(svcs) == 0 {
		return nil, fmt.Errorf("no services/<svc>/cmd/<svc>/main.go under %s", root)
	}
	sr := newSourceReader(root)
	common, overrides, err := sr.serviceMainFlags()
	if err != nil {
		return nil, err
	}
	cat := catalog{}
	var errs []error
	for _, svc := range svcs {
		own, err := sr.binaryFlags(filepath.Join(root, "services", svc, "cmd", svc, "main.go"))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", svc, err))
			continue
		}
		b := binary{Service: svc, ByEnv: map[string]flagSpec{}, ByFlag: map[string]flagSpec{}}
		for _, f := range append(common, own...) {
			if _, dup := b.ByFlag[f.Name]; dup {
				errs = append(errs, fmt.Errorf("%s: flag --%s registered twice", svc, f.Name))
			}
			f.Env = config.EnvName(f.Name)
			if o, ok := overrides[f.Name]; ok {
				f.Env = o
			}
			b.ByFlag[f.Name], b.ByEnv[f.Env] = f, f
		}
		cat[svc] = b
	}
	return cat, errors.Join(errs...)
}

// sourceReader parses kefu's Go source on demand.
type sourceReader struct {
	root string
	fset *token.FileSet
	pkgs map[string][]*ast.File // by directory
}

func newSourceReader(root string) *sourceReader {
	return &sourceReader{root: root, fset: token.NewFileSet(), pkgs: map[string][]*ast.File{}}
}

// dirFiles parses the non-test Go files of dir.
func (s *sourceReader) dirFiles(dir string) ([]*ast.File, error) {
	if fs, ok := s.pkgs[dir]; ok {
		return fs, nil
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(s.fset, n, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	s.pkgs[dir] = files
	return files, nil
}

func (s *sourceReader) file(path string) (*ast.File, error) {
	files, err := s.dirFiles(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if s.fset.Position(f.Pos()).Filename == path {
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s not parsed", path)
}

// serviceMainFlags returns the flags service.Main registers itself and service.EnvOverrides.
func (s *sourceReader) serviceMainFlags() ([]flagSpec, map[string]string, error) {
	dir := filepath.Join(s.root, "pkg", "service")
	files, err := s.dirFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	var main *ast.FuncDecl
	var mainFile *ast.File
	overrides := map[string]string{}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.Name == "Main" {
					main, mainFile = d, f
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					vs, ok := spec.(*ast.ValueSpec)
					if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "EnvOverrides" || len(vs.Values) != 1 {
						continue
					}
					lit, ok := vs.Values[0].(*ast.CompositeLit)
					if !ok {
						return nil, nil, errors.New("service.EnvOverrides is not a map literal")
					}
					for _, e := range lit.Elts {
						kv, ok := e.(*ast.KeyValueExpr)
						k, okK := stringLit(kv.Key)
						v, okV := stringLit(kv.Value)
						if !ok || !okK || !okV {
							return nil, nil, errors.New("service.EnvOverrides holds a non-literal entry")
						}
						overrides[k] = v
					}
				}
			}
		}
	}
	if main == nil {
		return nil, nil, errors.New("no func Main in pkg/service")
	}
	if len(overrides) == 0 {
		return nil, nil, errors.New("no service.EnvOverrides map in pkg/service")
	}
	// Main makes its FlagSet (fs := flag.NewFlagSet(...)) and passes it to define, its parameter: the
	// service's own function, read from cmd/<svc>/main.go.
	fsName := ""
	ast.Inspect(main.Body, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		if call, ok := as.Rhs[0].(*ast.CallExpr); ok && isSelector(call.Fun, "flag", "NewFlagSet") {
			if id, ok := as.Lhs[0].(*ast.Ident); ok {
				fsName = id.Name
			}
		}
		return true
	})
	if fsName == "" {
		return nil, nil, errors.New("service.Main makes no flag.NewFlagSet")
	}
	params := paramNames(main.Type)
	flags, err := s.flagsOn(mainFile, main.Body, fsName, func(call *ast.CallExpr) bool {
		id, ok := call.Fun.(*ast.Ident)
		if !ok {
			return false
		}
		_, isParam := params[id.Name]
		return isParam
	})
	return flags, overrides, err
}

// binaryFlags returns the flags cmd/<svc>/main.go registers in the function it passes to service.Main.
func (s *sourceReader) binaryFlags(path string) ([]flagSpec, error) {
	f, err := s.file(path)
	if err != nil {
		return nil, err
	}
	var define *ast.FuncLit
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isSelector(call.Fun, "service", "Main") || len(call.Args) != 2 {
			return true
		}
		define, _ = call.Args[1].(*ast.FuncLit)
		return false
	})
	if define == nil || len(define.Type.Params.List) != 1 || len(define.Type.Params.List[0].Names) != 1 {
		return nil, errors.New("no service.Main(name, func(fs *flag.FlagSet) ...) call")
	}
	return s.flagsOn(f, define.Body, define.Type.Params.List[0].Names[0].Name, nil)
}

// FlagSet methods that register nothing.
var inertFlagSetMethods = map[string]bool{
	"Parse": true, "Parsed": true, "Args": true, "Arg": true, "NArg": true, "NFlag": true, "Visit": true,
	"VisitAll": true, "Set": true, "Lookup": true, "SetOutput": true, "Output": true, "PrintDefaults": true,
	"Name": true, "ErrorHandling": true, "Init": true,
}

// flagsOn returns the flags registered on the FlagSet variable fsName within body, following calls that
// pass it on to kefu functions. skip reports calls to leave alone (service.Main's define).
func (s *sourceReader) flagsOn(file *ast.File, body ast.Node, fsName string, skip func(*ast.CallExpr) bool) ([]flagSpec, error) {
	var flags []flagSpec
	var errs []error
	pos := func(n ast.Node) string { return s.fset.Position(n.Pos()).String() }
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == fsName {
				if inertFlagSetMethods[sel.Sel.Name] {
					return true
				}
				f, err := flagFromCall(sel.Sel.Name, call)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", pos(call), err))
				} else {
					flags = append(flags, f)
				}
				return true
			}
		}
		argAt := -1
		for i, a := range call.Args {
			if id, ok := a.(*ast.Ident); ok && id.Name == fsName {
				argAt = i
			}
		}
		if argAt < 0 || (skip != nil && skip(call)) {
			return true
		}
		more, err := s.followCall(file, call, argAt)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pos(call), err))
		}
		flags = append(flags, more...)
		return true
	})
	return flags, errors.Join(errs...)
}

// followCall reads the flags a kefu function registers on the FlagSet passed as its argument argAt: a
// function of the same package (healthcheck(ctx, fs)) or of an imported kefu package (auth.BindFlags).
func (s *sourceReader) followCall(file *ast.File, call *ast.CallExpr, argAt int) ([]flagSpec, error) {
	dir, funcName := filepath.Dir(s.fset.Position(file.Pos()).Filename), ""
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		funcName = fun.Name
	case *ast.SelectorExpr:
		pkgID, ok := fun.X.(*ast.Ident)
		if !ok {
			return nil, fmt.Errorf("the FlagSet is passed to %s, which this test cannot follow", exprString(call.Fun))
		}
		importPath := ""
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if name == pkgID.Name {
				importPath = p
			}
		}
		rel, ok := strings.CutPrefix(importPath, "kefu.dev/")
		if !ok {
			return nil, fmt.Errorf("the FlagSet is passed to %s outside kefu (%q)", exprString(call.Fun), importPath)
		}
		dir, funcName = filepath.Join(s.root, filepath.FromSlash(rel)), fun.Sel.Name
	default:
		return nil, fmt.Errorf("the FlagSet is passed to %s, which this test cannot follow", exprString(call.Fun))
	}
	files, err := s.dirFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Name.Name != funcName {
				continue
			}
			for name, i := range paramNames(fd.Type) {
				if i == argAt {
					return s.flagsOn(f, fd.Body, name, nil)
				}
			}
			return nil, fmt.Errorf("%s has no parameter %d", exprString(call.Fun), argAt)
		}
	}
	return nil, fmt.Errorf("no func %s in %s", funcName, dir)
}

// flagFromCall reads name and usage from fs.<method>(...): the name and usage must be string literals.
func flagFromCall(method string, call *ast.CallExpr) (flagSpec, error) {
	var nameAt, usageAt int
	switch {
	case method == "Var" || method == "TextVar" || strings.HasSuffix(method, "Var"):
		nameAt, usageAt = 1, 3
		if method == "Var" {
			usageAt = 2
		}
	case method == "Func" || method == "BoolFunc":
		nameAt, usageAt = 0, 1
	case method == "String" || method == "Bool" || method == "Int" || method == "Int64" || method == "Uint" ||
		method == "Uint64" || method == "Float64" || method == "Duration":
		nameAt, usageAt = 0, 2
	default:
		return flagSpec{}, fmt.Errorf("unknown FlagSet method %s: teach flagFromCall", method)
	}
	if len(call.Args) <= usageAt {
		return flagSpec{}, fmt.Errorf("%s call with %d arguments", method, len(call.Args))
	}
	name, ok := stringLit(call.Args[nameAt])
	if !ok {
		return flagSpec{}, fmt.Errorf("%s: the flag name is not a string literal", method)
	}
	usage, _ := stringLit(call.Args[usageAt])
	return flagSpec{Name: name, Usage: usage, Secret: strings.Contains(strings.ToLower(usage), "secret")}, nil
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// paramNames maps a function's parameter names to their positions.
func paramNames(ft *ast.FuncType) map[string]int {
	out := map[string]int{}
	i := 0
	for _, field := range ft.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			out[n.Name] = i
			i++
		}
	}
	return out
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	default:
		return fmt.Sprintf("%T", e)
	}
}

// readFile reads a file relative to the repository root.
func readFile(root string, rel ...string) ([]byte, error) {
	return os.ReadFile(filepath.Join(append([]string{root}, rel...)...))
}
