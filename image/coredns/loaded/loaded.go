// Package loaded says which Corefile the server runs: `loaded ID` (the agent puts a hash of the
// rest of the Corefile there) sets the gauge coredns_loaded_corefile_info{id="ID"} to 1. The agent
// reloads CoreDNS with SIGUSR1 (tens of milliseconds, where a restart under systemd takes most of
// a second on the TCG lab VM) and waits for the new ID; a reload that fails keeps the old
// instance serving and the old ID, so the change does not verify and is reverted.
package loaded

import (
	"regexp"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

const name = "loaded"

var corefileInfo = promauto.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: plugin.Namespace,
	Subsystem: name,
	Name:      "corefile_info",
	Help:      "1, labelled with the id of the Corefile the server runs (the loaded directive).",
}, []string{"id"})

var validID = regexp.MustCompile(`^[0-9a-f]{1,64}$`)

var (
	mu sync.Mutex
	// shown is the id the gauge carries; starting, that of an instance whose servers may not
	// serve yet (a reload that is still binding its listeners).
	shown, starting string
)

func show(id string) {
	corefileInfo.Reset()
	corefileInfo.WithLabelValues(id).Set(1)
	shown = id
}

func init() { plugin.Register(name, setup) }

func setup(c *caddy.Controller) error {
	id, err := parse(c)
	if err != nil {
		return plugin.Error(name, err)
	}
	// Startup callbacks run before the servers bind; on a reload the old instance's shutdown
	// callbacks run only once the new servers serve, and a failed reload calls the old
	// instance's restart-failed callbacks instead.
	c.OnStartup(func() error {
		mu.Lock()
		defer mu.Unlock()
		if shown == "" {
			show(id) // the process's first instance: a failed start ends the process
		} else {
			starting = id
		}
		return nil
	})
	c.OnShutdown(func() error {
		mu.Lock()
		defer mu.Unlock()
		if starting != "" {
			show(starting)
			starting = ""
		}
		return nil
	})
	c.OnRestartFailed(func() error {
		mu.Lock()
		defer mu.Unlock()
		starting = ""
		return nil
	})
	return nil
}

func parse(c *caddy.Controller) (string, error) {
	id := ""
	for c.Next() {
		if id != "" {
			return "", plugin.ErrOnce
		}
		args := c.RemainingArgs()
		if len(args) != 1 || !validID.MatchString(args[0]) {
			return "", c.Errf("loaded takes one id of 1-64 lowercase hex digits")
		}
		id = args[0]
	}
	return id, nil
}
