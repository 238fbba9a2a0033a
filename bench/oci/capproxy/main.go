// Command capproxy serves internal/oci/ocitest's fault proxy in front of a
// registry for the benchmarks: by default it answers 413 to any request
// body over 4 MiB, as GHCR does.
//
//	capproxy -listen 127.0.0.1:5001 -upstream 127.0.0.1:5000 -cap 4194304
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/mlship/mlship/internal/oci/ocitest"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := flag.String("upstream", "", "registry host:port (plain HTTP)")
	bodyCap := flag.Int64("cap", 4<<20, "largest request body forwarded (413 above)")
	flag.Parse()
	if *upstream == "" {
		log.Fatal("capproxy: -upstream is required")
	}
	p := ocitest.NewFaultProxy(*upstream, ocitest.Faults{BodyCap: *bodyCap})
	p.Host = *listen
	log.Fatal(http.ListenAndServe(*listen, p))
}
