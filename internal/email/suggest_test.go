package email

import (
	"reflect"
	"testing"
)

func TestSuggest(t *testing.T) {
	named := func(names ...string) []field {
		var out []field
		for _, n := range names {
			out = append(out, field{name: n, typ: reflect.TypeFor[string]()})
		}
		return out
	}
	cases := []struct {
		name, member string
		fields       []field
		want         string
	}{
		{"CamelCase", "firstName", named("first_name", "last_name"), "first_name"},
		{"Spaces", "First Name", named("first_name", "last_name"), "first_name"},
		{"Dashes", "first-name", named("first_name", "last_name"), "first_name"},
		{"Swap", "frist_name", named("first_name", "last_name"), "first_name"},
		{"TwoEditsInALongName", "linkdin_ur", named("linkedin_url", "location"), "linkedin_url"},
		{"OneEditInAShortName", "tome", named("tone", "model"), "tone"},
		{"NoTwoEditsInAShortName", "tims", named("tone", "model"), ""},
		{"NoGuessWhenAmbiguous", "tobe", named("tone", "tome"), ""},
		{"NoGuessForTinyNames", "cx", named("cta"), ""},
		{"NoGuessWhenFar", "favourite_team", named("first_name", "last_name"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := suggest(tc.member, tc.fields); got != tc.want {
				t.Fatalf("suggest(%q) = %q, want %q", tc.member, got, tc.want)
			}
		})
	}
}
