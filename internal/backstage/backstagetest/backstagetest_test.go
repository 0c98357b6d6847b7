package backstagetest

import (
	"strings"
	"testing"
)

const component = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: shop
spec:
  type: service
  lifecycle: production
  owner: group:default/payments
`

// TestValidate: the checker accepts a minimal component and rejects what
// Backstage would (so tests that pass it mean something).
func TestValidate(t *testing.T) {
	if _, err := Validate([]byte(component)); err != nil {
		t.Fatalf("a minimal component: %v", err)
	}
	for _, tc := range []struct{ name, stream, want string }{
		{"no owner", strings.Replace(component, "  owner: group:default/payments\n", "", 1), "owner"},
		{"owner not a reference", strings.Replace(component, "group:default/payments", "payments team", 1), "owner"},
		{"bad name", strings.Replace(component, "name: shop", "name: shop api", 1), "name"},
		{"long name", strings.Replace(component, "name: shop", "name: "+strings.Repeat("x", 64), 1), "name"},
		{"bad tag", strings.Replace(component, "  name: shop\n", "  name: shop\n  tags: [Big]\n", 1), "tags"},
		{"unknown kind", strings.Replace(component, "kind: Component", "kind: Widget", 1), "kind"},
		{"dangling system", strings.Replace(component, "spec:\n", "spec:\n  system: system:default/nope\n", 1), "not in the stream"},
		{"API without definition", "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: a}\nspec: {type: openapi, lifecycle: x, owner: 'user:default/a'}\n", "definition"},
		{"System without owner", "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {name: s}\nspec: {}\n", "owner"},
		{"twice", component + "---\n" + component, "written twice"},
		{"empty", "", "no entities"},
	} {
		if _, err := Validate([]byte(tc.stream)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error about %s", tc.name, err, tc.want)
		}
	}
}
