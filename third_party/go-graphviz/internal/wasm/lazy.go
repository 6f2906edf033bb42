package wasm

import "sync"

var loadOnce sync.Once

// Load compiles and instantiates the Graphviz module, once, on first use.
//
// nuvlagen's patch: upstream compiles it in init, which costs every
// program that links the package about a second at start (or 50 ms and a
// compilation cache written under os.TempDir), whether it draws or not.
func Load() { loadOnce.Do(load) }
