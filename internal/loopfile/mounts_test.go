package loopfile

import (
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestParseVolumeSpec(t *testing.T) {
	tests := []struct {
		spec    string
		want    model.Volume
		wantErr string
	}{
		{spec: "./data:/data", want: model.Volume{Source: "./data", Target: "/data"}},
		{spec: "/srv/x:/x:ro", want: model.Volume{Source: "/srv/x", Target: "/x", ReadOnly: true}},
		{spec: "gocache:/root/.cache/:rw", want: model.Volume{Source: "gocache", Target: "/root/.cache", Named: true}},
		// A drive letter is part of the host path, on every OS.
		{spec: `C:\Users\me\proj\seed.sql:/docker-entrypoint-initdb.d/seed.sql:ro`,
			want: model.Volume{Source: `C:\Users\me\proj\seed.sql`, Target: "/docker-entrypoint-initdb.d/seed.sql", ReadOnly: true}},
		{spec: "c:/work/data:/data", want: model.Volume{Source: "c:/work/data", Target: "/data"}},
		{spec: `D:\:/d`, want: model.Volume{Source: `D:\`, Target: "/d"}},
		// Without a separator after the colon it is a volume name.
		{spec: "c:/data", wantErr: `invalid volume "c:/data"`},
		{spec: "cc:/data", want: model.Volume{Source: "cc", Target: "/data", Named: true}},
		{spec: "1:/data", want: model.Volume{Source: "1", Target: "/data", Named: true}},
		{spec: `C:\x:data`, wantErr: `volume "C:\\x:data": target "data" is not an absolute path`},
		{spec: `C:\x:/x:rx`, wantErr: `volume "C:\\x:/x:rx": unknown option "rx"`},
		{spec: `C:\a:b:/x`, wantErr: `volume "C:\\a:b:/x": unknown option "/x"`},
		{spec: `C:\a:/x:ro:rw`, wantErr: `invalid volume "C:\\a:/x:ro:rw"`},
		{spec: "data", wantErr: `invalid volume "data"`},
		{spec: ":/x", wantErr: `invalid volume ":/x"`},
		{spec: "bad name:/x", wantErr: `volume "bad name:/x": invalid volume name "bad name"`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := parseVolumeSpec(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %+v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
