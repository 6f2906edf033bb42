package swarmimport_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/moby/moby/client"

	"github.com/nuvla/nuvlagen/generator/swarmimport"
	"github.com/nuvla/nuvlagen/generator/swarmimport/enginetest"
	"github.com/nuvla/nuvlagen/internal/golden"
)

// TestImportRecorded imports a Swarm from JSON recorded on a real engine
// after the guide's host installation (traefik, prometheus, db and nuvla
// stacks from the upstream files), its one node made three: a manager
// listening on every address, with the edge label and one the model
// does not know, and two workers, one per type label.
func TestImportRecorded(t *testing.T) {
	for _, name := range []string{"guide-host"} {
		t.Run(name, func(t *testing.T) {
			c, err := client.New(client.WithHost(enginetest.Serve(t, filepath.Join("testdata", name))))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := swarmimport.Import(context.Background(), c, swarmimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var report bytes.Buffer
			if err := swarmimport.Write(&report, res); err != nil {
				t.Fatal(err)
			}
			golden.CheckFile(t, filepath.Join("testdata", name+".golden"), []byte("-- site file --\n"+string(res.Site)+"-- report --\n"+report.String()))
		})
	}
}
