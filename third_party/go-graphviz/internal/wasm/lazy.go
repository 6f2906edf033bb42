package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
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
// code, so it must be a directory no other user can write or swap. ""
// (the default) keeps no cache. Called before the first Load; later
// calls change nothing.
//
// nuvlagen's patch: upstream always caches, under os.TempDir(), which
// every user of the machine can write.
func SetCacheDir(dir string) { cacheDir = dir }

// compile makes the runtime and compiles the module, with the cache of
// SetCacheDir when it has one. wazero's checksum covers an entry's code
// but not its header and function table, which a damaged file can make
// crash the process (a huge allocation, a jump into the wrong code), so
// every entry has its sha256 beside it (seal), and an entry whose file
// does not match it is removed before wazero reads it (verify). A
// compilation with the cache that fails anyway (or panics: the cache is
// what differs from upstream's path) empties the cache and compiles
// without it, so a damaged or unwritable cache costs one slow start,
// never a drawing. The runtime only compiles here: the host modules the
// module imports are instantiated on it afterwards, before the module
// itself.
//
// nuvlagen's patch.
func compile(ctx context.Context) (wazero.Runtime, wazero.CompiledModule) {
	if dir := cacheDir; dir != "" {
		verify(dir)
		if r, compiled, ok := compileCached(ctx, dir); ok {
			seal(dir)
			return r, compiled
		}
		emptyDir(dir)
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig())
	compiled, err := r.CompileModule(ctx, wasmFile)
	if err != nil {
		panic(err)
	}
	return r, compiled
}

// compileCached compiles the module with the compilation cache in dir.
func compileCached(ctx context.Context, dir string) (r wazero.Runtime, compiled wazero.CompiledModule, ok bool) {
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, nil, false
	}
	r = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache))
	defer func() {
		if p := recover(); p != nil || !ok {
			_ = r.Close(ctx)
			_ = cache.Close(ctx)
			r, compiled, ok = nil, nil, false
		}
	}()
	compiled, err = r.CompileModule(ctx, wasmFile)
	return r, compiled, err == nil
}

// digestSuffix names the file holding an entry's sha256, beside it.
const digestSuffix = ".sha256"

// entries returns the cache entries under dir: the files wazero wrote in
// its directories (one per wazero version and platform), but its
// temporary files and the digests.
func entries(dir string) []string {
	paths, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"))
	var out []string
	for _, p := range paths {
		if !strings.HasSuffix(p, digestSuffix) && !strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
	}
	return out
}

// fileSum is the hex sha256 of the file at p.
func fileSum(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// verify removes every entry under dir whose digest is missing or does
// not match its file, with its digest; and digests without an entry.
func verify(dir string) {
	for _, p := range entries(dir) {
		want, err := os.ReadFile(p + digestSuffix)
		got, serr := fileSum(p)
		if err != nil || serr != nil || string(want) != got {
			_ = os.Remove(p)
			_ = os.Remove(p + digestSuffix)
		}
	}
	digests, _ := filepath.Glob(filepath.Join(dir, "wazero-*", "*"+digestSuffix))
	for _, d := range digests {
		if _, err := os.Stat(strings.TrimSuffix(d, digestSuffix)); err != nil {
			_ = os.Remove(d)
		}
	}
}

// seal writes the digest of every entry under dir that has none (the one
// this compilation wrote), into a temporary file renamed into place: a
// process that reads it sees all of it or none. A process writing the
// same entry beside this one can leave a digest of the other's file;
// the next verify then removes the entry, and it is compiled again.
func seal(dir string) {
	for _, p := range entries(dir) {
		if _, err := os.Stat(p + digestSuffix); err == nil {
			continue
		}
		sum, err := fileSum(p)
		if err != nil {
			continue
		}
		tmp, err := os.CreateTemp(filepath.Dir(p), filepath.Base(p)+".*.tmp")
		if err != nil {
			continue
		}
		_, err = tmp.WriteString(sum)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), p+digestSuffix)
		}
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}
}

// emptyDir removes what wazero made in dir (its directories, one per
// wazero version and platform), nothing else.
func emptyDir(dir string) {
	paths, _ := filepath.Glob(filepath.Join(dir, "wazero-*"))
	for _, p := range paths {
		_ = os.RemoveAll(p)
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
