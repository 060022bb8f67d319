package prompt

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// A template that is only text and fields of the data printed as they are
// (prompts/'s user message is its text around {{.ProspectData}}) is
// rendered by joining them: text/template's reflection, and the copy of
// the data it boxes for every call, cost more than such a message.

// splice is a template as its text and the fields it prints.
type splice []splicePart

// splicePart is text, or the field of Data at index when index is set.
type splicePart struct {
	text  string
	index []int
}

// newSplice returns t as a splice, or nil when t does more than print
// strings, integers and bools of the data.
func newSplice(t *template.Template) splice {
	if t.Tree == nil || len(t.Templates()) > 1 {
		return nil
	}
	data := reflect.TypeFor[Data]()
	stringer := reflect.TypeFor[fmt.Stringer]()
	var s splice
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			s = append(s, splicePart{text: string(n.Text)})
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok {
				return nil
			}
			index, ok := valuePath(data, f.Ident)
			if !ok {
				return nil
			}
			// fmt prints what a String method says.
			ft := data.FieldByIndex(index).Type
			if ft.Kind() == reflect.Slice || ft.Implements(stringer) || reflect.PointerTo(ft).Implements(stringer) {
				return nil
			}
			s = append(s, splicePart{index: index})
		default:
			return nil
		}
	}
	return s
}

// render prints d as the template would.
func (s splice) render(d *Data) string {
	v := reflect.ValueOf(d).Elem()
	n := 0
	for _, p := range s {
		if p.index == nil {
			n += len(p.text)
		} else if f := v.FieldByIndex(p.index); f.Kind() == reflect.String {
			n += f.Len()
		} else {
			n += 20
		}
	}
	var b strings.Builder
	b.Grow(n)
	var num [24]byte
	for _, p := range s {
		if p.index == nil {
			b.WriteString(p.text)
			continue
		}
		switch f := v.FieldByIndex(p.index); f.Kind() {
		case reflect.String:
			b.WriteString(f.String())
		case reflect.Bool:
			b.Write(strconv.AppendBool(num[:0], f.Bool()))
		default:
			b.Write(strconv.AppendInt(num[:0], f.Int(), 10))
		}
	}
	return b.String()
}
