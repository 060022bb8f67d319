package prompt

import (
	"reflect"
	"strconv"
	"sync"
	"text/template"
	"text/template/parse"
)

// The system prompt is the longest message of every call, yet the one in
// prompts/ reads only a few options (tone, language, words, how many emails
// and their days). A template whose every use of the data is such a value
// is rendered once for each combination of them and kept; any other
// template (one that reads the request, the fenced data, or the whole data)
// is rendered for every call, as before.

// optionFields are the fields of Data a memo may key on: what the
// request's options decide. The fenced data differs for every request and
// is about the prospect; it is never kept.
var optionFields = map[string]bool{"Options": true, "Emails": true, "Days": true, "Step": true}

// maxMemo bounds the renderings a memo keeps. Past it the memo starts
// over: clients that send many tones cost renderings, never memory.
const maxMemo = 64

// memo keeps a template's renderings by the values it reads. Safe for
// concurrent use.
type memo struct {
	// reads are the data's fields the template reads, as field index
	// paths into Data.
	reads [][]int
	mu    sync.RWMutex
	out   map[string]string
}

// newMemo returns a memo for t, or nil when what t renders may depend on
// more of the data than values it names.
func newMemo(t *template.Template) *memo {
	r := reads{ok: true}
	if t.Tree == nil || len(t.Templates()) > 1 {
		// Associated templates ({{define}}, {{block}}) are not followed.
		return nil
	}
	r.node(t.Tree.Root, true)
	if !r.ok {
		return nil
	}
	m := &memo{out: make(map[string]string)}
	data := reflect.TypeFor[Data]()
	for _, chain := range r.chains {
		if !optionFields[chain[0]] {
			return nil
		}
		index, ok := valuePath(data, chain)
		if !ok {
			return nil
		}
		m.reads = append(m.reads, index)
	}
	return m
}

// render returns t rendered with d, from the memo when it has it.
func (m *memo) render(t *template.Template, d *Data, size int) (string, error) {
	var keyBuf [128]byte
	key := m.key(keyBuf[:0], d)
	m.mu.RLock()
	out, ok := m.out[string(key)]
	m.mu.RUnlock()
	if ok {
		return out, nil
	}
	out, err := execute(t, d, size)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	if len(m.out) >= maxMemo {
		clear(m.out)
	}
	m.out[string(key)] = out
	m.mu.Unlock()
	return out, nil
}

// key appends to b the values of d the template reads, each one
// unambiguously delimited.
func (m *memo) key(b []byte, d *Data) []byte {
	v := reflect.ValueOf(d).Elem()
	for _, index := range m.reads {
		f := v.FieldByIndex(index)
		switch f.Kind() {
		case reflect.String:
			b = strconv.AppendInt(b, int64(f.Len()), 10)
			b = append(b, ':')
			b = append(b, f.String()...)
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
			b = strconv.AppendInt(b, f.Int(), 10)
		case reflect.Bool:
			b = strconv.AppendBool(b, f.Bool())
		case reflect.Slice:
			if f.IsNil() {
				b = append(b, 'n')
				break
			}
			b = append(b, '[')
			for i := range f.Len() {
				b = strconv.AppendInt(b, f.Index(i).Int(), 10)
				b = append(b, ',')
			}
			b = append(b, ']')
		}
		b = append(b, ';')
	}
	return b
}

// valuePath resolves a chain of field names from t to the index path of a
// field holding a string, an integer, a bool or a slice of integers. A
// pointer on the way, a method (text/template calls a method before it
// reads a field of the same name) or any other kind of value fails.
func valuePath(t reflect.Type, chain []string) ([]int, bool) {
	var index []int
	for _, name := range chain {
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		if _, ok := reflect.PointerTo(t).MethodByName(name); ok {
			return nil, false
		}
		f, ok := t.FieldByName(name)
		if !ok || !f.IsExported() || len(f.Index) != 1 {
			return nil, false
		}
		index = append(index, f.Index[0])
		t = f.Type
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
		return index, true
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.Int, reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8:
			return index, true
		}
	}
	return nil, false
}

// reads gathers the fields of the data a template reads.
type reads struct {
	// chains are the field names read from the data itself ({{.A.B}},
	// {{$.A.B}}).
	chains [][]string
	// ok is false once the template may read more than chains: the data
	// itself ({{.}} where dot is the data, {{$}}), another template, or a
	// node this does not know.
	ok bool
}

// node goes through n; atRoot says whether dot is the data there. Inside
// range and with, dot is a value made from fields read already, so what it
// reads from there needs no key of its own.
func (r *reads) node(n parse.Node, atRoot bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			r.node(c, atRoot)
		}
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
	case *parse.ActionNode:
		r.pipe(n.Pipe, atRoot)
	case *parse.IfNode:
		r.branch(&n.BranchNode, atRoot, atRoot)
	case *parse.RangeNode:
		r.branch(&n.BranchNode, atRoot, false)
	case *parse.WithNode:
		r.branch(&n.BranchNode, atRoot, false)
	default:
		r.ok = false
	}
}

func (r *reads) branch(n *parse.BranchNode, atRoot, inList bool) {
	r.pipe(n.Pipe, atRoot)
	r.node(n.List, inList)
	if n.ElseList != nil {
		r.node(n.ElseList, atRoot)
	}
}

func (r *reads) pipe(p *parse.PipeNode, atRoot bool) {
	if p == nil {
		return
	}
	for _, cmd := range p.Cmds {
		for _, arg := range cmd.Args {
			r.arg(arg, atRoot)
		}
	}
}

func (r *reads) arg(n parse.Node, atRoot bool) {
	switch n := n.(type) {
	case *parse.FieldNode:
		if atRoot {
			r.chains = append(r.chains, n.Ident)
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				r.ok = false
				return
			}
			r.chains = append(r.chains, n.Ident[1:])
		}
	case *parse.DotNode:
		if atRoot {
			r.ok = false
		}
	case *parse.PipeNode:
		r.pipe(n, atRoot)
	case *parse.IdentifierNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode, *parse.NilNode:
	default:
		// A chain ((.A).B) and anything newer.
		r.ok = false
	}
}
