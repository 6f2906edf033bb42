package wasm

import (
	"context"
	"sync"
)

var loadOnce sync.Once

// Load compiles and instantiates the Graphviz module, once, on first use.
//
// nuvlagen's patch: upstream compiles it in init, which costs every
// program that links the package about a second at start (or 50 ms and a
// compilation cache written under os.TempDir), whether it draws or not.
func Load() { loadOnce.Do(load) }

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
