package wasm

import (
	"context"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
)

var (
	loadOnce sync.Once
	cacheDir string
)

// Load compiles and instantiates the Graphviz module, once, on first use.
//
// nuvlagen's patch: upstream compiles it in init, which costs every
// program that links the package about a second at start (or 50 ms and a
// compilation cache written under os.TempDir), whether it draws or not.
func Load() { loadOnce.Do(load) }

// SetCacheDir makes Load keep the module's compiled code in dir and load
// it from there (about 50 ms instead of about a second of compiling).
// The caller vouches for dir: wazero runs what it finds there as machine
// code, so it must be a directory only the user can write. "" (the
// default) keeps no cache. Called before the first Load; later calls
// change nothing.
//
// nuvlagen's patch: upstream always caches, under os.TempDir(), which
// every user of the machine can write.
func SetCacheDir(dir string) { cacheDir = dir }

// compile makes the runtime and compiles the module, with the cache of
// SetCacheDir when it has one. An entry the cache cannot load (a file
// damaged on disk fails wazero's checksum or its header) fails the
// compilation: then the cache's files are removed and the module is
// compiled again into an empty cache, or without one if that fails too,
// so a damaged cache costs one slow start, never a drawing. The runtime
// only compiles here: the host modules the module imports are
// instantiated on it afterwards, before the module itself.
//
// nuvlagen's patch.
func compile(ctx context.Context) (wazero.Runtime, wazero.CompiledModule) {
	if dir := cacheDir; dir != "" {
		for range 2 {
			if r, compiled, ok := compileCached(ctx, dir); ok {
				return r, compiled
			}
			emptyDir(dir)
		}
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	compiled, err := r.CompileModule(ctx, wasmFile)
	if err != nil {
		panic(err)
	}
	return r, compiled
}

// compileCached compiles the module with the compilation cache in dir.
func compileCached(ctx context.Context, dir string) (wazero.Runtime, wazero.CompiledModule, bool) {
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, nil, false
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	compiled, err := r.CompileModule(ctx, wasmFile)
	if err != nil {
		_ = r.Close(ctx)
		_ = cache.Close(ctx)
		return nil, nil, false
	}
	return r, compiled, true
}

// emptyDir removes what dir holds (the directories wazero made in it,
// one per wazero version and platform), not dir itself.
func emptyDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// freeRenderData frees what Context_renderData returns, a string at p
// pointing at the rendered data: the data with gvFreeRenderData, then the
// string.
//
// nuvlagen's patch (see Context.RenderData).
func (m *WasmModule) freeRenderData(ctx context.Context, p uint64) error {
	if p == 0 {
		return nil
	}
	data, err := m.readU32(p)
	if err != nil {
		return err
	}
	if err := m.call(ctx, "freeRenderData", data); err != nil {
		return err
	}
	return m.free(ctx, p)
}
