package full

import (
	"errors"
	"strings"
	"testing"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/database"
)

func TestDBTarget_needRunning(t *testing.T) {
	running := &api.ContainerInfo{ID: "0123456789abcdef", Runtime: "docker"}
	tests := []struct {
		name string
		t    dbTarget
		want []string // substrings of the error; nil = no error
	}{
		{"process mode", dbTarget{name: "db", info: database.Info{Engine: "postgres"}}, nil},
		{"running postgres container", dbTarget{name: "db", container: running,
			info: database.Info{Engine: "postgres", Runtime: "container"}}, nil},
		{"no container", dbTarget{name: "db", enterErr: errors.New("db has no running container (crashed: exited 1)"),
			info: database.Info{Runtime: "container"}},
			[]string{"snapshot db", "no running container", "loop wait", "loop db reset db"}},
		{"redis container", dbTarget{name: "cache", container: running,
			info: database.Info{Engine: "redis", Runtime: "container"}},
			[]string{"snapshot cache", "supports postgres", "cache is redis", "loop db reset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.t.needRunning("snapshot")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want one with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}
