package swarmtest

import (
	"slices"
	"strings"
	"testing"
)

// checkStreams asserts what the daemon stored of the streams stack: with
// streams on, the api bootstraps its Kafka producers from the broker,
// which answers as kafka on the backend network (the name every client
// of the stack is given), and no service of the stack publishes a port;
// off, no service of the site runs Kafka and the api has no producers.
func checkStreams(t *testing.T, dp *deployment, snap *snapshot) {
	t.Helper()
	s := dp.site
	stack, core := "", ""
	for _, st := range s.Stacks {
		switch st.Role {
		case "streams":
			stack = st.Name
		case "core":
			core = st.Name
		}
	}
	if s.Streams.Enabled != (stack != "") {
		t.Fatalf("streams enabled %v, streams stack %q", s.Streams.Enabled, stack)
	}
	if core != "" {
		api, ok := snap.services[core+"_api"]
		if !ok {
			t.Fatalf("no service %s_api on the daemon", core)
		}
		var kafka []string
		env, _ := get(api, "Spec", "TaskTemplate", "ContainerSpec", "Env").([]any)
		for _, e := range env {
			if e, _ := e.(string); strings.HasPrefix(e, "KAFKA_") {
				kafka = append(kafka, e)
			}
		}
		slices.Sort(kafka)
		want := []string(nil)
		if s.Streams.Enabled {
			want = []string{"KAFKA_ENDPOINTS=kafka:9092", "KAFKA_PRODUCER_INIT=yes"}
		}
		if !slices.Equal(kafka, want) {
			t.Errorf("the api's Kafka variables are %q, want %q", kafka, want)
		}
	}
	for name, v := range snap.services {
		image := str(v, "Spec", "TaskTemplate", "ContainerSpec", "Image")
		if !s.Streams.Enabled && strings.Contains(image, "kafka") {
			t.Errorf("streams off, service %s runs %s", name, image)
		}
		if stack == "" || !strings.HasPrefix(name, stack+"_") {
			continue
		}
		if ports, _ := get(v, "Spec", "EndpointSpec", "Ports").([]any); len(ports) > 0 {
			t.Errorf("service %s publishes %v: the streams stack answers on the backend network only", name, ports)
		}
		if name != stack+"_kafka" {
			continue
		}
		var aliases []string
		nets, _ := get(v, "Spec", "TaskTemplate", "Networks").([]any)
		for _, n := range nets {
			if snap.netNames[str(n, "Target")] != s.Networks.Backend {
				continue
			}
			for _, a := range get(n, "Aliases").([]any) {
				aliases = append(aliases, a.(string))
			}
		}
		if !slices.Contains(aliases, "kafka") {
			t.Errorf("service %s: aliases %q on %s, want kafka (where the api and ksqlDB bootstrap)", name, aliases, s.Networks.Backend)
		}
	}
}
